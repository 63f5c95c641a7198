package sqlitestore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/sqlitestore"
)

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "beacon")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: filepath.Join(dir, "beacon.db")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	u, _ := s.CreateUser(ctx, store.NewUser{Login: "Ada_Lovelace"})
	_, err = s.CreateUser(ctx, store.NewUser{Login: "ADA_LOVELACE"})
	fmt.Println(u.Login, err != nil)
	// Output: ada_lovelace true
}
