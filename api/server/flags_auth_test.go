package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/beaconlive/beacon/api/server"
	"github.com/beaconlive/beacon/auth"
	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/sqlitestore"
)

// principalReviewer is how cmd/beacon reads the reviewer: the user the
// Authenticator resolved.
func principalReviewer(ctx context.Context) (int64, bool) {
	p, ok := server.PrincipalFrom(ctx)
	if !ok || p.Kind != auth.PrincipalUser {
		return 0, false
	}
	return int64(p.UserID), true
}

// TestFlagsModeratorOnly runs the flags API behind the real Authenticator:
// the three methods are moderator-only in its access table.
func TestFlagsModeratorOnly(t *testing.T) {
	st, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: filepath.Join(t.TempDir(), "beacon.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	a, err := auth.New(auth.Config{Store: st, TokenCacheTTL: -1, Password: auth.Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}})
	require.NoError(t, err)
	authn, err := server.NewAuthenticator(server.AuthConfig{Auth: a, Limiter: auth.NewLimiter(auth.LimiterConfig{Rate: 1000, Burst: 1000})})
	require.NoError(t, err)
	e := newFlagsEnv(t, server.Config{Interceptors: []grpc.UnaryServerInterceptor{authn.Interceptor()}}, principalReviewer, st)
	e.seed(t, frameFlag("a", 1, "Porn", 0.9, 0))

	ctx := context.Background()
	session := func(login string, roles ...store.Role) (string, store.UserID) {
		u, err := a.SignUp(ctx, auth.SignUpRequest{Login: login, Password: "correct horse battery staple", Roles: roles})
		require.NoError(t, err)
		res, err := a.Login(ctx, auth.LoginRequest{Login: login, Password: "correct horse battery staple"})
		require.NoError(t, err)
		return auth.SessionCookieName + "=" + res.Session, u.ID
	}
	viewer, _ := session("viewer_vic")
	streamer, _ := session("streamer_sam", store.RoleStreamer)
	mod, modID := session("mod_mia", store.RoleModerator)

	call := func(method, path, body, cookie string) (int, []byte) {
		req, err := http.NewRequest(method, e.http+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}
	routes := []struct{ method, path, body string }{
		{http.MethodGet, "/v1/flags", ""},
		{http.MethodGet, "/v1/flags/a", ""},
		{http.MethodPost, "/v1/flags/a:review", `{"decision":"dismiss"}`},
	}
	for _, r := range routes {
		code, body := call(r.method, r.path, r.body, "")
		require.Equal(t, http.StatusUnauthorized, code, "anonymous %s %s: %s", r.method, r.path, body)
		for _, who := range []string{viewer, streamer} {
			code, body := call(r.method, r.path, r.body, who)
			require.Equal(t, http.StatusForbidden, code, "%s %s: %s", r.method, r.path, body)
			ed := errorBody(t, body)
			require.Equal(t, "PERMISSION_DENIED", ed.Code)
			require.Contains(t, ed.Message, "moderator")
		}
	}
	f, err := st.FlagByID(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, store.FlagOpen, f.State, "no denied call changed the flag")

	code, body := call(http.MethodGet, "/v1/flags", "", mod)
	require.Equal(t, 200, code, string(body))
	code, body = call(http.MethodGet, "/v1/flags/a", "", mod)
	require.Equal(t, 200, code, string(body))
	code, body = call(http.MethodPost, "/v1/flags/a:review", `{"decision":"dismiss"}`, mod)
	require.Equal(t, 200, code, string(body))
	var r struct{ Flag apiFlag }
	require.NoError(t, json.Unmarshal(body, &r))
	require.Equal(t, strconv.FormatInt(int64(modID), 10), r.Flag.ReviewerID, "the reviewer is the signed-in moderator")
	audit, err := st.AuditEvents(ctx, store.AuditFilter{Kind: store.AuditModeration})
	require.NoError(t, err)
	require.Len(t, audit, 1)
	require.Equal(t, modID, audit[0].ActorID)
	denied, err := st.AuditEvents(ctx, store.AuditFilter{Kind: store.AuditAccessDenied})
	require.NoError(t, err)
	require.NotEmpty(t, denied, "denials are audited by the Authenticator")
}
