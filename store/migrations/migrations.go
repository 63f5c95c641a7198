// Package migrations holds the versioned database schema of the state store,
// one set of goose SQL migrations per dialect, embedded in the binary and
// applied by the backends at Open.
//
// Add a migration as NNNNN_name.sql in both sqlite/ and postgres/, with the
// same version number, and never edit a migration that has shipped.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// SQLite returns the SQLite migrations.
func SQLite() fs.FS { return mustSub("sqlite") }

// Postgres returns the PostgreSQL migrations.
func Postgres() fs.FS { return mustSub("postgres") }

func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil { // cannot happen: dir is embedded above
		return files
	}
	return sub
}
