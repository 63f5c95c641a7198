package seed

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/beaconlive/beacon/auth"
	"github.com/beaconlive/beacon/store"
)

// Account is a demo login.
type Account struct {
	Login    string
	Password string
	Roles    []store.Role
}

// Credentials are what Demo prints for a newcomer.
type Credentials struct {
	Streamer, Viewer, Moderator Account
	// ChannelID and ChannelName identify the streamer's channel.
	ChannelID   store.ChannelID
	ChannelName string
	// StreamKey is the channel's current stream key. Keys are stored hashed,
	// so every Demo call rotates it and returns a fresh one.
	StreamKey string
}

// The demo accounts. Their passwords are public: Demo is for `make run` on a
// developer's machine, never for a production database.
var demoAccounts = [...]Account{
	{Login: "demo_streamer", Password: "beacon-demo-streamer", Roles: []store.Role{store.RoleStreamer}},
	{Login: "demo_viewer", Password: "beacon-demo-viewer"},
	{Login: "demo_moderator", Password: "beacon-demo-moderator", Roles: []store.Role{store.RoleModerator}},
}

// Demo creates (or repairs) a demo streamer with a channel, a demo viewer who
// follows it, and a demo moderator, and returns their credentials with a
// freshly rotated stream key. It is idempotent: later calls keep the accounts,
// reset their passwords, roles and lockouts to the demo values, and rotate
// the key.
func Demo(ctx context.Context, st store.Store) (Credentials, error) {
	a, err := auth.New(auth.Config{Store: st})
	if err != nil {
		return Credentials{}, err
	}
	var users [len(demoAccounts)]store.User
	for i, acc := range demoAccounts {
		if users[i], err = ensureUser(ctx, st, a, acc); err != nil {
			return Credentials{}, fmt.Errorf("seed: demo user %s: %w", acc.Login, err)
		}
	}
	streamer, viewer := users[0], users[1]
	var key string
	ch, err := st.ChannelByOwner(ctx, streamer.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		ch, key, err = a.CreateChannel(ctx, 0, store.NewChannel{
			OwnerID: streamer.ID, Title: "Beacon demo stream", CategoryID: 1, Language: "en", Tags: []string{"Demo", "English"},
		})
	case err == nil:
		key, err = a.RotateStreamKey(ctx, 0, ch.ID)
	}
	if err != nil {
		return Credentials{}, fmt.Errorf("seed: demo channel: %w", err)
	}
	if err := st.Follow(ctx, viewer.ID, ch.ID); err != nil {
		return Credentials{}, fmt.Errorf("seed: demo follow: %w", err)
	}
	c := Credentials{ChannelID: ch.ID, ChannelName: ch.Name, StreamKey: key}
	c.Streamer, c.Viewer, c.Moderator = demoAccounts[0], demoAccounts[1], demoAccounts[2]
	return c, nil
}

func ensureUser(ctx context.Context, st store.Store, a *auth.Service, acc Account) (store.User, error) {
	u, err := st.UserByLogin(ctx, acc.Login)
	if errors.Is(err, store.ErrNotFound) {
		return a.SignUp(ctx, auth.SignUpRequest{Login: acc.Login, Password: acc.Password, DisplayName: acc.Login, Roles: acc.Roles, IP: "seed"})
	}
	if err != nil {
		return store.User{}, err
	}
	if ok, _, _ := auth.VerifyPassword(u.PasswordHash, acc.Password, auth.DefaultParams); !ok {
		if err := a.SetPassword(ctx, 0, u.ID, acc.Password); err != nil {
			return store.User{}, err
		}
	}
	for _, r := range acc.Roles {
		if err := st.GrantRole(ctx, u.ID, r); err != nil {
			return store.User{}, err
		}
	}
	if u.Disabled {
		if err := st.SetDisabled(ctx, u.ID, false); err != nil {
			return store.User{}, err
		}
	}
	if err := st.ResetLoginFailures(ctx, u.ID); err != nil {
		return store.User{}, err
	}
	return st.UserByID(ctx, u.ID)
}

// String formats the credentials for the terminal.
func (c Credentials) String() string {
	var b strings.Builder
	b.WriteString("Demo accounts (local development only):\n")
	for _, a := range []Account{c.Streamer, c.Viewer, c.Moderator} {
		roles := "viewer"
		for _, r := range a.Roles {
			roles += "," + string(r)
		}
		fmt.Fprintf(&b, "  %-15s password %-22s roles %s\n", a.Login, a.Password, roles)
	}
	fmt.Fprintf(&b, "Demo channel %q stream key (rotated at every start): %s\n", c.ChannelName, c.StreamKey)
	return b.String()
}
