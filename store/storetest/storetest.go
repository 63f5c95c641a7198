// Package storetest is the conformance suite every store backend passes:
// Run exercises the whole store.Store contract, the hostile-input rules and
// the auth flows built on it (stream keys, tokens, sessions, TOTP, brute-force
// lockout, secrets kept out of logs), and Bench measures the hot paths.
package storetest

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/store"
)

// Run runs the suite; open returns a fresh, empty store for each subtest and
// arranges its clean-up.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	cases := []struct {
		name string
		f    func(*testing.T, store.Store)
	}{
		{"Users", testUsers},
		{"LoginNormalization", testLoginNormalization},
		{"Roles", testRoles},
		{"Categories", testCategories},
		{"Channels", testChannels},
		{"StreamKeys", testStreamKeys},
		{"Follows", testFollows},
		{"WatchSessions", testWatchSessions},
		{"APIClientsAndTokens", testClientsAndTokens},
		{"Sessions", testSessions},
		{"TwoFactorStore", testTwoFactorStore},
		{"Audit", testAudit},
		{"AuditAppendOnly", testAuditAppendOnly},
		{"SQLInjectionRoundTrips", testInjection},
		{"InvalidInputRejected", testInvalidInput},
		{"Concurrency", testConcurrency},
		{"Closed", testClosed},
		{"AuthStreamKeys", testAuthStreamKeys},
		{"AuthTokens", testAuthTokens},
		{"AuthLoginSessions", testAuthLogin},
		{"AuthBruteForceLockout", testAuthLockout},
		{"AuthTOTP", testAuthTOTP},
		{"AuthRoles", testAuthRoles},
		{"SecretsNeverLogged", testSecretsNotLogged},
	}
	cases = append(cases, flagCases...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.f(t, open(t))
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// rawSQL returns the backend's database handle, if it exposes one.
func rawSQL(s store.Store) (*sql.DB, bool) {
	x, ok := s.(interface{ SQL() *sql.DB })
	if !ok {
		return nil, false
	}
	return x.SQL(), true
}

func mkUser(t *testing.T, s store.Store, login string, roles ...store.Role) store.User {
	t.Helper()
	u, err := s.CreateUser(ctx(t), store.NewUser{Login: login, Roles: roles})
	require.NoError(t, err)
	return u
}

func mkChannel(t *testing.T, s store.Store, owner store.UserID) store.Channel {
	t.Helper()
	c, err := s.CreateChannel(ctx(t), store.NewChannel{OwnerID: owner, Title: "hello", CategoryID: 1})
	require.NoError(t, err)
	return c
}

func digest(b byte) []byte {
	d := make([]byte, 32)
	for i := range d {
		d[i] = b
	}
	return d
}
