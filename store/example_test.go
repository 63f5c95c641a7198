package store_test

import (
	"fmt"

	"github.com/beaconlive/beacon/store"
)

func ExampleNormalizeLogin() {
	for _, in := range []string{"Alice_42", "Ａｌｉｃｅ_42", "аlice"} {
		login, err := store.NormalizeLogin(in)
		fmt.Println(login, err)
	}
	// Output:
	// alice_42 <nil>
	// alice_42 <nil>
	//  store: invalid login: may contain only letters a-z, digits 0-9 and underscore; 'а' (U+0430) is not allowed
}

func ExampleParseDSN() {
	scheme, target, err := store.ParseDSN("sqlite://./data/beacon.db")
	fmt.Println(scheme, target, err)
	// Output: sqlite ./data/beacon.db <nil>
}
