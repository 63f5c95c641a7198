package auth_test

import (
	"fmt"
	"strings"

	"github.com/beaconlive/beacon/auth"
)

func ExampleNewStreamKey() {
	key, digest := auth.NewStreamKey()
	// Show key to the streamer once; store only digest.
	fmt.Println(strings.HasPrefix(key, auth.StreamKeyPrefix), len(key), len(digest))
	// Output: true 48 32
}

func ExampleHashPassword() {
	params := auth.Params{Time: 1, MemoryKiB: 1024, Threads: 1, SaltLen: 16, KeyLen: 32}
	phc, _ := auth.HashPassword("correct horse battery staple", params)
	ok, _, _ := auth.VerifyPassword(phc, "correct horse battery staple", params)
	fmt.Println(strings.HasPrefix(phc, "$argon2id$v=19$"), ok)
	// Output: true true
}
