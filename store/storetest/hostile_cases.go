package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/store"
)

// Injections are classic SQL injection payloads; every free-text field must
// store them literally.
var Injections = []string{
	`Robert'); DROP TABLE users;--`,
	`' OR '1'='1`,
	`" OR ""="`,
	`1; DELETE FROM channels WHERE 1=1; --`,
	`'); UPDATE users SET disabled = 1; --`,
	`$1 $2 ?1 :name @p`,
	`\'; SELECT pg_sleep(5); --`,
	`%' UNION SELECT password_hash FROM users --`,
	`*/ /* -- #`,
}

func testInjection(t *testing.T, s store.Store) {
	c := ctx(t)
	owner := mkUser(t, s, "injector")
	ch := mkChannel(t, s, owner.ID)
	for i, inj := range Injections {
		// Users: display name and e-mail.
		email := "x" + inj + "@example.com"
		email = strings.ReplaceAll(email, " ", "")
		u, err := s.CreateUser(c, store.NewUser{Login: fmt.Sprintf("victim_%d", i), DisplayName: inj, Email: email})
		require.NoError(t, err, inj)
		got, err := s.UserByID(c, u.ID)
		require.NoError(t, err)
		require.Equal(t, inj, got.DisplayName)
		require.Equal(t, email, got.Email)
		name := inj + "!"
		got, err = s.UpdateUser(c, u.ID, store.UserUpdate{DisplayName: &name})
		require.NoError(t, err)
		require.Equal(t, name, got.DisplayName)

		// Logins and lookups by login refuse them cleanly.
		_, err = s.CreateUser(c, store.NewUser{Login: inj})
		require.ErrorIs(t, err, store.ErrInvalid)
		_, err = s.UserByLogin(c, inj)
		require.ErrorIs(t, err, store.ErrInvalid)
		_, err = s.ChannelByName(c, inj)
		require.ErrorIs(t, err, store.ErrInvalid)

		// Channels: title round-trips; tags refuse.
		title := inj
		upd, err := s.UpdateChannel(c, ch.ID, store.ChannelUpdate{Title: &title})
		require.NoError(t, err)
		require.Equal(t, inj, upd.Title)
		tags := []string{inj}
		_, err = s.UpdateChannel(c, ch.ID, store.ChannelUpdate{Tags: &tags})
		require.ErrorIs(t, err, store.ErrInvalid)

		// API client name round-trips; the id and scopes refuse.
		cid := fmt.Sprintf("bc_inj%d", i)
		cl, err := s.CreateAPIClient(c, store.NewAPIClient{ClientID: cid, Name: inj, SecretHash: digest(byte(i)), Scopes: []string{"streams:read"}})
		require.NoError(t, err)
		require.Equal(t, inj, cl.Name)
		_, err = s.APIClientByID(c, inj)
		require.ErrorIs(t, err, store.ErrInvalid)
		_, err = s.CreateAPIClient(c, store.NewAPIClient{ClientID: "bc_z", Name: "z", SecretHash: digest(0), Scopes: []string{inj}})
		require.ErrorIs(t, err, store.ErrInvalid)

		// Sessions: ip and user agent round-trip.
		h := digest(byte(100 + i))
		require.NoError(t, s.CreateSession(c, store.Session{Hash: h, UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour), IP: inj, UserAgent: inj}))
		se, err := s.SessionByHash(c, h)
		require.NoError(t, err)
		require.Equal(t, inj, se.IP)
		require.Equal(t, inj, se.UserAgent)

		// Audit: every text field round-trips.
		e, err := s.AppendAudit(c, store.AuditEvent{Kind: store.AuditKind(inj), IP: inj, ClientID: inj, Detail: inj + "\n" + inj})
		require.NoError(t, err)
		evs, err := s.AuditEvents(c, store.AuditFilter{Kind: store.AuditKind(inj)})
		require.NoError(t, err)
		require.Len(t, evs, 1)
		require.Equal(t, e, evs[0])
		require.Equal(t, inj+"\n"+inj, evs[0].Detail)
	}
	// Nothing was dropped or mass-updated.
	users, err := s.UserByLogin(c, "injector")
	require.NoError(t, err)
	require.False(t, users.Disabled)
	chs, err := s.ListChannels(c, store.Page{})
	require.NoError(t, err)
	require.Len(t, chs, 1)
	cats, err := s.Categories(c)
	require.NoError(t, err)
	require.NotEmpty(t, cats)
}

func requireField(t *testing.T, err error, field string) {
	t.Helper()
	require.ErrorIs(t, err, store.ErrInvalid)
	var ve *store.ValidationError
	require.True(t, errors.As(err, &ve), "want a *ValidationError, got %T: %v", err, err)
	require.Equal(t, field, ve.Field)
	require.NotEmpty(t, ve.Reason)
}

func testInvalidInput(t *testing.T, s store.Store) {
	c := ctx(t)
	u := mkUser(t, s, "validuser")
	ch := mkChannel(t, s, u.ID)
	badUTF8 := "ok\xff\xfe"
	huge := strings.Repeat("A", 1<<20)
	long := func(n int) string { return strings.Repeat("é", n+1) }

	for _, v := range []struct {
		field string
		val   string
	}{{"display_name", badUTF8}, {"display_name", huge}, {"display_name", long(store.MaxDisplayNameLen)}, {"display_name", "nul\x00"}} {
		_, err := s.CreateUser(c, store.NewUser{Login: "newuser", DisplayName: v.val})
		requireField(t, err, v.field)
		val := v.val
		_, err = s.UpdateUser(c, u.ID, store.UserUpdate{DisplayName: &val})
		requireField(t, err, v.field)
	}
	for _, e := range []string{badUTF8 + "@x.com", huge, "a@" + strings.Repeat("b", 300), "not-an-email", "a b@c.d"} {
		_, err := s.CreateUser(c, store.NewUser{Login: "newuser", Email: e})
		requireField(t, err, "email")
	}
	for _, l := range []string{badUTF8, huge, "x\x00yz"} {
		_, err := s.CreateUser(c, store.NewUser{Login: l})
		requireField(t, err, "login")
	}
	for _, title := range []string{badUTF8, huge, long(store.MaxTitleLen), "line\nbreak"} {
		title := title
		_, err := s.UpdateChannel(c, ch.ID, store.ChannelUpdate{Title: &title})
		requireField(t, err, "title")
	}
	for _, tags := range [][]string{{badUTF8}, {huge}, {long(store.MaxTagLen)}} {
		tags := tags
		_, err := s.UpdateChannel(c, ch.ID, store.ChannelUpdate{Tags: &tags})
		requireField(t, err, "tags")
	}
	lang := "english"
	_, err := s.UpdateChannel(c, ch.ID, store.ChannelUpdate{Language: &lang})
	requireField(t, err, "language")
	_, err = s.CreateAPIClient(c, store.NewAPIClient{ClientID: "bc_ok", Name: badUTF8, SecretHash: digest(1)})
	requireField(t, err, "name")
	_, err = s.CreateAPIClient(c, store.NewAPIClient{ClientID: "bc_ok", Name: huge, SecretHash: digest(1)})
	requireField(t, err, "name")
	err = s.CreateSession(c, store.Session{Hash: digest(1), UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour), UserAgent: badUTF8})
	requireField(t, err, "user_agent")
	err = s.CreateSession(c, store.Session{Hash: digest(1), UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour), UserAgent: huge})
	requireField(t, err, "user_agent")
	_, err = s.AppendAudit(c, store.AuditEvent{Kind: store.AuditLogin, Detail: badUTF8})
	requireField(t, err, "detail")
	_, err = s.AppendAudit(c, store.AuditEvent{Kind: store.AuditLogin, Detail: huge})
	requireField(t, err, "detail")
	require.ErrorIs(t, s.SetTOTPSecret(c, u.ID, huge), store.ErrInvalid)

	// Nothing half-written.
	_, err = s.UserByLogin(c, "newuser")
	require.ErrorIs(t, err, store.ErrNotFound)
	got, err := s.ChannelByID(c, ch.ID)
	require.NoError(t, err)
	require.Equal(t, "hello", got.Title)
}

func testConcurrency(t *testing.T, s store.Store) {
	c := ctx(t)
	u := mkUser(t, s, "racer")
	require.NoError(t, s.SetTOTPSecret(c, u.ID, "JBSWY3DPEHPK3PXP"))
	require.NoError(t, s.EnableTOTP(c, u.ID, 10, [][]byte{digest(1)}))
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	steps, codes := 0, 0
	errs := make(chan error, 4*n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.AdvanceTOTPStep(c, u.ID, 11)
			if err != nil {
				errs <- err
			}
			used, err := s.UseRecoveryCode(c, u.ID, digest(1))
			if err != nil {
				errs <- err
			}
			if _, err := s.RecordLoginFailure(c, u.ID); err != nil {
				errs <- err
			}
			_, err = s.CreateUser(c, store.NewUser{Login: "SameLogin"})
			if err != nil && !errors.Is(err, store.ErrDuplicate) {
				errs <- err
			}
			mu.Lock()
			defer mu.Unlock()
			if ok {
				steps++
			}
			if used {
				codes++
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, steps, "a TOTP step is accepted exactly once under concurrency")
	require.Equal(t, 1, codes, "a recovery code is used exactly once under concurrency")
	u, err := s.UserByID(c, u.ID)
	require.NoError(t, err)
	require.Equal(t, n, u.FailedLogins, "failure counter increments atomically")
	_, err = s.UserByLogin(c, "samelogin")
	require.NoError(t, err)
}
