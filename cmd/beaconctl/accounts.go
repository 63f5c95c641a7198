package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/beaconlive/beacon/auth"
	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/pgstore"
	"github.com/beaconlive/beacon/store/sqlitestore"
)

// openStore opens the backend a DSN names (the only place beaconctl picks one).
func openStore(ctx context.Context, dsn string) (store.Store, error) {
	scheme, target, err := store.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	switch scheme {
	case store.SchemeSQLite:
		return sqlitestore.Open(ctx, sqlitestore.Config{Path: target})
	case store.SchemePostgres:
		return pgstore.Open(ctx, pgstore.Config{URL: target})
	}
	return nil, fmt.Errorf("unsupported database scheme %q", scheme)
}

// accountFlags are the flags every account command shares.
type accountFlags struct {
	fs *flag.FlagSet
	db string
}

func newFlags(name string, stderr io.Writer) *accountFlags {
	f := &accountFlags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	f.fs.SetOutput(stderr)
	f.fs.StringVar(&f.db, "db", store.DefaultDSN, "database DSN: sqlite://PATH or postgres://…")
	return f
}

func (f *accountFlags) parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	if f.fs.NArg() > 0 {
		fmt.Fprintf(f.fs.Output(), "%s: unexpected argument %q\n", f.fs.Name(), f.fs.Arg(0))
		return errUsage
	}
	return nil
}

func required(f *accountFlags, names ...string) error {
	for _, n := range names {
		if f.fs.Lookup(n).Value.String() == "" {
			fmt.Fprintf(f.fs.Output(), "%s: -%s is required\n", f.fs.Name(), n)
			f.fs.Usage()
			return errUsage
		}
	}
	return nil
}

// withService opens the store and an auth service over it.
func withService(ctx context.Context, dsn string, fn func(store.Store, *auth.Service) error) error {
	st, err := openStore(ctx, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := auth.New(auth.Config{Store: st})
	if err != nil {
		return err
	}
	return fn(st, a)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// generatePassword returns 20 random characters from an unambiguous alphabet.
func generatePassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func cmdCreateUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("create-user", stderr)
	login := f.fs.String("login", "", "login (3–25 of a-z, 0-9, _; case-insensitive) (required)")
	display := f.fs.String("display-name", "", "display name (defaults to the login)")
	email := f.fs.String("email", "", "e-mail address")
	roles := f.fs.String("roles", "", "extra roles, comma-separated: streamer,moderator,admin")
	pwStdin := f.fs.Bool("password-stdin", false, "read the password from the first line of standard input (otherwise one is generated and printed)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := required(f, "login"); err != nil {
		return err
	}
	var rs []store.Role
	for _, r := range splitList(*roles) {
		role, err := store.ParseRole(r)
		if err != nil {
			return err
		}
		rs = append(rs, role)
	}
	password, generated := "", false
	if *pwStdin {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	} else {
		password, generated = generatePassword(), true
	}
	return withService(ctx, f.db, func(_ store.Store, a *auth.Service) error {
		u, err := a.SignUp(ctx, auth.SignUpRequest{Login: *login, Password: password, DisplayName: *display, Email: *email, Roles: rs, IP: "beaconctl"})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created user %s (id %d, roles %s)\n", u.Login, u.ID, joinRoles(u.Roles))
		if generated {
			fmt.Fprintf(stdout, "password: %s\n", password)
		}
		return nil
	})
}

func joinRoles(rs []store.Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

func cmdGrantRole(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("grant-role", stderr)
	login := f.fs.String("login", "", "user login (required)")
	role := f.fs.String("role", "", "viewer, streamer, moderator or admin (required)")
	revoke := f.fs.Bool("revoke", false, "revoke the role instead")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := required(f, "login", "role"); err != nil {
		return err
	}
	r, err := store.ParseRole(*role)
	if err != nil {
		return err
	}
	return withService(ctx, f.db, func(st store.Store, a *auth.Service) error {
		u, err := st.UserByLogin(ctx, *login)
		if err != nil {
			return err
		}
		verb := "granted"
		if *revoke {
			verb = "revoked"
			err = a.RevokeRole(ctx, 0, u.ID, r)
		} else {
			err = a.GrantRole(ctx, 0, u.ID, r)
		}
		if err != nil {
			return err
		}
		roles, err := st.UserRoles(ctx, u.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s %s: %s now holds %s\n", verb, r, u.Login, joinRoles(roles))
		return nil
	})
}

func cmdCreateChannel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("create-channel", stderr)
	login := f.fs.String("login", "", "login of the streamer who owns the channel (required)")
	title := f.fs.String("title", "", "stream title")
	category := f.fs.Int64("category", 0, "category id from the catalogue (store/seed/categories.yaml)")
	lang := f.fs.String("language", "en", "ISO 639-1 language code")
	tags := f.fs.String("tags", "", "comma-separated tags (at most 10, letters and digits)")
	mature := f.fs.Bool("mature", false, "mature content")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := required(f, "login"); err != nil {
		return err
	}
	return withService(ctx, f.db, func(st store.Store, a *auth.Service) error {
		u, err := st.UserByLogin(ctx, *login)
		if err != nil {
			return err
		}
		ch, key, err := a.CreateChannel(ctx, 0, store.NewChannel{OwnerID: u.ID, Title: *title, CategoryID: store.CategoryID(*category), Language: *lang, Tags: splitList(*tags), Mature: *mature})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created channel %s (id %d)\n", ch.Name, ch.ID)
		fmt.Fprintf(stdout, "stream key (shown once, store it safely): %s\n", key)
		return nil
	})
}

func cmdRotateKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("rotate-key", stderr)
	login := f.fs.String("login", "", "login of the channel's streamer (required)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := required(f, "login"); err != nil {
		return err
	}
	return withService(ctx, f.db, func(st store.Store, a *auth.Service) error {
		ch, err := st.ChannelByName(ctx, *login)
		if err != nil {
			return err
		}
		key, err := a.RotateStreamKey(ctx, 0, ch.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rotated the stream key of %s; the old key no longer works\n", ch.Name)
		fmt.Fprintf(stdout, "stream key (shown once, store it safely): %s\n", key)
		return nil
	})
}

func cmdCreateClient(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("create-client", stderr)
	name := f.fs.String("name", "", "what the client is (required)")
	scopes := f.fs.String("scopes", "", "comma-separated scopes the client may request, e.g. streams:read,channels:read")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := required(f, "name"); err != nil {
		return err
	}
	return withService(ctx, f.db, func(_ store.Store, a *auth.Service) error {
		c, err := a.CreateAPIClient(ctx, 0, *name, splitList(*scopes))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client_id: %s\n", c.ClientID)
		fmt.Fprintf(stdout, "client_secret (shown once, store it safely): %s\n", c.Secret)
		fmt.Fprintf(stdout, "scopes: %s\n", strings.Join(c.Scopes, " "))
		return nil
	})
}
