package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	apiv1 "github.com/beaconlive/beacon/api/gen/beacon/api/v1"
	"github.com/beaconlive/beacon/auth"
	"github.com/beaconlive/beacon/internal/testenv"
	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/pgstore"
	"github.com/beaconlive/beacon/store/sqlitestore"
)

// syncBuffer is a log sink tests grep.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clock is the auth service's adjustable clock (TOTP steps, expiry).
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

type envOptions struct {
	store      func(t *testing.T) store.Store
	limiter    *auth.Limiter
	credLim    *auth.Limiter
	dropMethod string
}

type env struct {
	t     *testing.T
	st    store.Store
	auth  *auth.Service
	authn *Authenticator
	clock *clock
	logs  *syncBuffer
	http  string
	conn  *grpc.ClientConn
	// secrets collects every secret the test saw; none may reach the logs.
	secrets []string
}

func openSQLite(t *testing.T) store.Store {
	st, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: filepath.Join(t.TempDir(), "beacon.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func openPostgres(t *testing.T) store.Store {
	u := testenv.Require(t, "PG_URL", "PostgreSQL")
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "api_" + hex.EncodeToString(b)
	st, err := pgstore.Open(context.Background(), pgstore.Config{URL: u, Schema: schema})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = st.Close()
		require.NoError(t, pgstore.DropSchema(context.Background(), u, schema))
	})
	return st
}

// frozen is a limiter clock that never advances: buckets never refill.
func frozenLimiter(burst int) *auth.Limiter {
	t0 := time.Now()
	return auth.NewLimiter(auth.LimiterConfig{Rate: rate.Limit(0.001), Burst: burst, Now: func() time.Time { return t0 }})
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.store == nil {
		o.store = openSQLite
	}
	if o.limiter == nil {
		o.limiter = auth.NewLimiter(auth.LimiterConfig{Rate: 1000, Burst: 1000})
	}
	if o.credLim == nil {
		o.credLim = auth.NewLimiter(auth.LimiterConfig{Rate: 1000, Burst: 1000})
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := &env{t: t, st: o.store(t), clock: &clock{}, logs: logs}
	var err error
	e.auth, err = auth.New(auth.Config{Store: e.st, Logger: log, Now: e.clock.Now, TokenCacheTTL: -1,
		Password: auth.Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}})
	require.NoError(t, err)
	e.authn, err = NewAuthenticator(AuthConfig{Auth: e.auth, Logger: log, Limiter: o.limiter, CredentialLimiter: o.credLim})
	require.NoError(t, err)
	if o.dropMethod != "" {
		delete(e.authn.rules, o.dropMethod)
	}
	accounts, err := NewAccountsService(AccountsConfig{Auth: e.auth, Store: e.st, Logger: log})
	require.NoError(t, err)
	oauth, err := NewOAuth2(OAuth2Config{Auth: e.auth, Limiter: o.credLim, Logger: log, Now: e.clock.Now})
	require.NoError(t, err)

	s, err := New(Config{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", Logger: log, MaxRequestBytes: 64 << 10,
		Interceptors: []grpc.UnaryServerInterceptor{e.authn.Interceptor()}})
	require.NoError(t, err)
	accounts.Register(s)
	oauth.Register(s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	actx, acancel := context.WithTimeout(ctx, 10*time.Second)
	defer acancel()
	h, g, err := s.Addrs(actx)
	require.NoError(t, err)
	e.http = "http://" + h.String()
	e.conn, err = grpc.NewClient(g.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = e.conn.Close()
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Error("Run did not return")
		}
	})
	return e
}

// keep records secrets that must never be logged.
func (e *env) keep(s ...string) {
	for _, v := range s {
		require.NotEmpty(e.t, v)
		e.secrets = append(e.secrets, v)
	}
}

// checkLogs fails if a kept secret appears in the captured logs.
func (e *env) checkLogs() {
	logs := e.logs.String()
	require.Contains(e.t, logs, `"msg":"grpc request"`, "the chassis logs were captured")
	require.Contains(e.t, logs, `"component":"auth"`, "the auth service logs were captured")
	evs, err := e.st.AuditEvents(context.Background(), store.AuditFilter{Limit: 1000})
	require.NoError(e.t, err)
	require.NotEmpty(e.t, evs)
	var audit strings.Builder
	for _, ev := range evs {
		audit.WriteString(strings.Join([]string{ev.Login, ev.ClientID, ev.IP, ev.Detail}, " "))
	}
	for _, s := range e.secrets {
		require.NotContains(e.t, logs, s, "a secret reached the logs")
		require.NotContains(e.t, audit.String(), s, "a secret reached the audit log")
	}
}

type reply struct {
	code int
	hdr  http.Header
	body []byte
}

// do sends a REST request; hdr are header name/value pairs.
func (e *env) do(method, path, body string, hdr ...string) reply {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.http+path, rd)
	require.NoError(e.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return reply{code: resp.StatusCode, hdr: resp.Header, body: b}
}

// ok requires a 200 and decodes the body into m.
func (r reply) into(t *testing.T, m proto.Message) {
	t.Helper()
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	require.NoError(t, protojson.Unmarshal(r.body, m), string(r.body))
}

// fails requires an error status and returns the error message.
func (r reply) fails(t *testing.T, code int) string {
	t.Helper()
	require.Equal(t, code, r.code, string(r.body))
	var eb ErrorBody
	require.NoError(t, json.Unmarshal(r.body, &eb), string(r.body))
	require.Equal(t, code, eb.Error.Status)
	return eb.Error.Message
}

func cookie(session string) []string {
	return []string{"Cookie", auth.SessionCookieName + "=" + session}
}
func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func jsonBody(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// signUpAndLogin creates an account over REST (roles beyond viewer are
// granted directly) and returns its id and session.
func (e *env) signUpAndLogin(login, password string, roles ...store.Role) (int64, string) {
	e.t.Helper()
	var su apiv1.SignUpResponse
	e.do("POST", "/v1/accounts", jsonBody(map[string]string{"login": login, "password": password})).into(e.t, &su)
	for _, r := range roles {
		require.NoError(e.t, e.auth.GrantRole(context.Background(), 0, store.UserID(su.User.Id), r))
	}
	var lr apiv1.LoginResponse
	e.do("POST", "/v1/sessions", jsonBody(map[string]string{"login": login, "password": password})).into(e.t, &lr)
	require.False(e.t, lr.MfaRequired)
	require.NotEmpty(e.t, lr.SessionId)
	e.keep(password, lr.SessionId)
	return su.User.Id, lr.SessionId
}

func (e *env) audit(kind store.AuditKind) []store.AuditEvent {
	e.t.Helper()
	evs, err := e.st.AuditEvents(context.Background(), store.AuditFilter{Kind: kind, Limit: 1000})
	require.NoError(e.t, err)
	return evs
}

func TestAccountFlowSQLite(t *testing.T)   { accountFlow(t, openSQLite) }
func TestAccountFlowPostgres(t *testing.T) { accountFlow(t, openPostgres) }

// accountFlow: sign up → log in → enable TOTP → log in with TOTP → create
// channel → rotate key → follow → list follows → unfollow → log out, over
// REST, then the logs are checked for every secret seen.
func accountFlow(t *testing.T, open func(*testing.T) store.Store) {
	e := newEnv(t, envOptions{store: open})
	ctx := context.Background()
	const pw = "correct horse battery"

	var su apiv1.SignUpResponse
	e.do("POST", "/v1/accounts", jsonBody(map[string]string{"login": "Alice_1", "password": pw, "display_name": "Alice", "email": "alice@example.org"})).into(t, &su)
	require.Equal(t, "alice_1", su.User.Login, "logins are normalized")
	require.Equal(t, []string{"viewer"}, su.User.Roles)
	msg := e.do("POST", "/v1/accounts", jsonBody(map[string]string{"login": "ALICE_1", "password": pw})).fails(t, http.StatusConflict)
	require.Contains(t, msg, "login already taken")

	e.do("POST", "/v1/sessions", jsonBody(map[string]string{"login": "alice_1", "password": "wrong password"})).fails(t, http.StatusUnauthorized)
	var lr apiv1.LoginResponse
	e.do("POST", "/v1/sessions", jsonBody(map[string]string{"login": "alice_1", "password": pw})).into(t, &lr)
	require.NotEmpty(t, lr.SessionId)
	session := lr.SessionId
	e.keep(pw, session)

	var me apiv1.GetMeResponse
	e.do("GET", "/v1/me", "", cookie(session)...).into(t, &me)
	require.Equal(t, su.User.Id, me.User.Id)
	require.Contains(t, e.do("GET", "/v1/me", "").fails(t, http.StatusUnauthorized), "authentication required")

	// Enable TOTP.
	var bt apiv1.BeginTOTPResponse
	e.do("POST", "/v1/me/totp", "{}", cookie(session)...).into(t, &bt)
	require.True(t, strings.HasPrefix(bt.OtpauthUrl, "otpauth://totp/"), bt.OtpauthUrl)
	e.keep(bt.Secret)
	require.Contains(t, e.do("POST", "/v1/me/totp:confirm", `{"code":"000000x"}`, cookie(session)...).fails(t, http.StatusBadRequest), "invalid code")
	code, err := auth.TOTPCode(bt.Secret, e.clock.Now())
	require.NoError(t, err)
	var ct apiv1.ConfirmTOTPResponse
	e.do("POST", "/v1/me/totp:confirm", jsonBody(map[string]string{"code": code}), cookie(session)...).into(t, &ct)
	require.Len(t, ct.RecoveryCodes, auth.RecoveryCodeCount)
	e.keep(ct.RecoveryCodes...)
	require.Contains(t, e.do("POST", "/v1/me/totp", "{}", cookie(session)...).fails(t, http.StatusConflict), "already enabled")

	// Log in again: the password alone is not enough.
	e.do("POST", "/v1/sessions", jsonBody(map[string]string{"login": "alice_1", "password": pw})).into(t, &lr)
	require.True(t, lr.MfaRequired)
	require.Empty(t, lr.SessionId)
	challenge := lr.Challenge
	e.keep(challenge)
	require.Contains(t, e.do("GET", "/v1/me", "", cookie(challenge)...).fails(t, http.StatusUnauthorized), "invalid session", "a challenge is not a session")
	// The code used to confirm is a replay.
	require.Contains(t, e.do("POST", "/v1/sessions:totp", jsonBody(map[string]string{"challenge": challenge, "code": code})).fails(t, http.StatusUnauthorized), "already used")
	e.clock.Advance(30 * time.Second)
	code, err = auth.TOTPCode(bt.Secret, e.clock.Now())
	require.NoError(t, err)
	e.do("POST", "/v1/sessions:totp", jsonBody(map[string]string{"challenge": challenge, "code": code})).into(t, &lr)
	require.NotEmpty(t, lr.SessionId)
	session2 := lr.SessionId
	e.keep(session2)
	require.Contains(t, e.do("POST", "/v1/sessions:totp", jsonBody(map[string]string{"challenge": challenge, "code": code})).fails(t, http.StatusUnauthorized), "log in again", "a challenge is consumed")

	// Channel and stream key.
	require.Contains(t, e.do("GET", "/v1/me/channel", "", cookie(session2)...).fails(t, http.StatusNotFound), "POST /v1/me/channel")
	require.Contains(t, e.do("POST", "/v1/me/channel/stream-key:rotate", "{}", cookie(session2)...).fails(t, http.StatusForbidden), "streamer")
	var cc apiv1.CreateMyChannelResponse
	e.do("POST", "/v1/me/channel", jsonBody(map[string]any{"title": "Speedruns", "language": "en", "tags": []string{"speedrun"}}), cookie(session2)...).into(t, &cc)
	require.True(t, strings.HasPrefix(cc.StreamKey, auth.StreamKeyPrefix))
	e.keep(cc.StreamKey)
	require.Equal(t, "alice_1", cc.Channel.Name)
	e.do("POST", "/v1/me/channel", `{"title":"again"}`, cookie(session2)...).fails(t, http.StatusConflict)

	var ch apiv1.Channel
	e.do("PATCH", "/v1/me/channel", `{"title":"Any% runs","tags":["speedrun","Mario64"],"mature":true}`, cookie(session2)...).into(t, &ch)
	require.Equal(t, "Any% runs", ch.Title)
	require.Equal(t, []string{"speedrun", "Mario64"}, ch.Tags)
	require.True(t, ch.Mature)
	require.Equal(t, "en", ch.Language, "fields absent from the PATCH body are kept")
	e.do("GET", "/v1/me/channel", "", cookie(session2)...).into(t, &ch)
	require.Equal(t, "Any% runs", ch.Title)

	var rk apiv1.RotateStreamKeyResponse
	e.do("POST", "/v1/me/channel/stream-key:rotate", "{}", cookie(session2)...).into(t, &rk)
	e.keep(rk.StreamKey)
	require.NotEqual(t, cc.StreamKey, rk.StreamKey)
	_, err = e.auth.VerifyStreamKey(ctx, cc.StreamKey, "")
	require.ErrorIs(t, err, auth.ErrInvalidStreamKey, "the old key is revoked")
	k, err := e.auth.VerifyStreamKey(ctx, rk.StreamKey, "")
	require.NoError(t, err)
	require.Equal(t, cc.Channel.Id, int64(k.ChannelID))

	// Follows, paginated.
	var ids []int64
	for _, login := range []string{"bob_1", "carol_1", "dave_1"} {
		_, s := e.signUpAndLogin(login, "password for "+login)
		var c apiv1.CreateMyChannelResponse
		e.do("POST", "/v1/me/channel", `{"title":"hi"}`, cookie(s)...).into(t, &c)
		e.keep(c.StreamKey)
		ids = append(ids, c.Channel.Id)
		e.do("PUT", "/v1/me/follows/"+itoa(c.Channel.Id), "", cookie(session2)...).into(t, &apiv1.FollowChannelResponse{})
	}
	e.do("PUT", "/v1/me/follows/"+itoa(ids[0]), "", cookie(session2)...).into(t, &apiv1.FollowChannelResponse{}) // idempotent
	e.do("PUT", "/v1/me/follows/999999", "", cookie(session2)...).fails(t, http.StatusNotFound)
	require.Contains(t, e.do("PUT", "/v1/me/follows/0", "", cookie(session2)...).fails(t, http.StatusBadRequest), "channel_id")
	e.do("PUT", "/v1/me/follows/abc", "", cookie(session2)...).fails(t, http.StatusBadRequest)

	var got []int64
	var names []string
	tok := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		var lf apiv1.ListMyFollowsResponse
		e.do("GET", "/v1/me/follows?page_size=2&page_token="+url.QueryEscape(tok), "", cookie(session2)...).into(t, &lf)
		require.LessOrEqual(t, len(lf.Follows), 2)
		for _, f := range lf.Follows {
			got = append(got, f.ChannelId)
			names = append(names, f.Name)
		}
		if tok = lf.NextPageToken; tok == "" {
			break
		}
	}
	require.Equal(t, ids, got)
	require.Equal(t, []string{"bob_1", "carol_1", "dave_1"}, names)
	require.Contains(t, e.do("GET", "/v1/me/follows?page_token=forged", "", cookie(session2)...).fails(t, http.StatusBadRequest), "page_token")
	require.Contains(t, e.do("GET", "/v1/me/follows?page_size=-1", "", cookie(session2)...).fails(t, http.StatusBadRequest), "page_size")

	e.do("DELETE", "/v1/me/follows/"+itoa(ids[1]), "", cookie(session2)...).into(t, &apiv1.UnfollowChannelResponse{})
	var lf apiv1.ListMyFollowsResponse
	e.do("GET", "/v1/me/follows", "", cookie(session2)...).into(t, &lf)
	require.Len(t, lf.Follows, 2)

	// Disable TOTP: a wrong code is refused; a recovery code works.
	require.Contains(t, e.do("POST", "/v1/me/totp:disable", `{"code":"123456"}`, cookie(session2)...).fails(t, http.StatusBadRequest), "invalid code")
	require.Contains(t, e.do("POST", "/v1/me/totp:disable", `{}`, cookie(session2)...).fails(t, http.StatusBadRequest), "invalid code")
	// Then log out.
	e.do("POST", "/v1/me/totp:disable", jsonBody(map[string]string{"code": ct.RecoveryCodes[0]}), cookie(session2)...).into(t, &apiv1.DisableTOTPResponse{})
	e.do("DELETE", "/v1/sessions/current", "", cookie(session2)...).into(t, &apiv1.LogoutResponse{})
	require.Contains(t, e.do("GET", "/v1/me", "", cookie(session2)...).fails(t, http.StatusUnauthorized), "session revoked")
	// The first session is still alive; TOTP is off, so a password login starts a session.
	e.do("GET", "/v1/me", "", cookie(session)...).into(t, &me)
	require.False(t, me.User.TotpEnabled)
	e.do("POST", "/v1/sessions", jsonBody(map[string]string{"login": "alice_1", "password": pw})).into(t, &lr)
	require.False(t, lr.MfaRequired)
	e.keep(lr.SessionId)

	// Session expiry.
	e.clock.Advance(15 * 24 * time.Hour)
	require.Contains(t, e.do("GET", "/v1/me", "", cookie(session)...).fails(t, http.StatusUnauthorized), "session expired")

	require.NotEmpty(t, e.audit(store.AuditLogin))
	require.NotEmpty(t, e.audit(store.AuditKeyRotated))
	e.checkLogs()
}

func itoa(v int64) string { return jsonBody(v) }

// TestAccountFlowGRPC runs the core flow over native gRPC: the session
// cookie travels as "cookie" metadata and comes back as "set-cookie".
func TestAccountFlowGRPC(t *testing.T) {
	e := newEnv(t, envOptions{})
	acc := apiv1.NewAccountsServiceClient(e.conn)
	ctx := context.Background()
	const pw = "grpc password 1"
	_, err := acc.SignUp(ctx, &apiv1.SignUpRequest{Login: "grace", Password: pw})
	require.NoError(t, err)
	var hdr metadata.MD
	lr, err := acc.Login(ctx, &apiv1.LoginRequest{Login: "grace", Password: pw}, grpc.Header(&hdr))
	require.NoError(t, err)
	e.keep(pw, lr.SessionId)
	sc := strings.Join(hdr.Get("set-cookie"), ";")
	require.Contains(t, sc, auth.SessionCookieName+"="+lr.SessionId)
	require.Contains(t, sc, "HttpOnly")
	require.Contains(t, sc, "Secure")
	require.Contains(t, sc, "SameSite=Lax")

	_, err = acc.GetMe(ctx, &apiv1.GetMeRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	uctx := metadata.AppendToOutgoingContext(ctx, "cookie", "theme=dark; "+auth.SessionCookieName+"="+lr.SessionId)
	me, err := acc.GetMe(uctx, &apiv1.GetMeRequest{})
	require.NoError(t, err)
	require.Equal(t, "grace", me.User.Login)

	cc, err := acc.CreateMyChannel(uctx, &apiv1.CreateMyChannelRequest{Title: "grpc"})
	require.NoError(t, err)
	e.keep(cc.StreamKey)
	_, err = acc.UpdateMyChannel(uctx, &apiv1.UpdateMyChannelRequest{Channel: &apiv1.Channel{Title: "x"}})
	require.Equal(t, codes.InvalidArgument, status.Code(err), "gRPC callers must send update_mask")
	st, _ := status.FromError(err)
	require.NotEmpty(t, st.Details(), "field violations travel as BadRequest details")
	_, err = acc.UpdateMyChannel(uctx, &apiv1.UpdateMyChannelRequest{Channel: &apiv1.Channel{Id: 7}, UpdateMask: maskOf("id")})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	ch, err := acc.UpdateMyChannel(uctx, &apiv1.UpdateMyChannelRequest{Channel: &apiv1.Channel{Title: "new", Language: "fr"}, UpdateMask: maskOf("title")})
	require.NoError(t, err)
	require.Equal(t, "new", ch.Title)
	require.Equal(t, "en", ch.Language, "only masked fields change")
	rk, err := acc.RotateStreamKey(uctx, &apiv1.RotateStreamKeyRequest{})
	require.NoError(t, err)
	e.keep(rk.StreamKey)

	_, err = acc.Logout(uctx, &apiv1.LogoutRequest{}, grpc.Header(&hdr))
	require.NoError(t, err)
	require.Contains(t, strings.Join(hdr.Get("set-cookie"), ";"), "Max-Age=0", "log out clears the cookie")
	_, err = acc.GetMe(uctx, &apiv1.GetMeRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	e.checkLogs()
}

// TestClientCredentials: an admin creates a client; the client gets tokens
// at /oauth2/token and calls a scoped method; missing scope → 403,
// expired/revoked → 401.
func TestClientCredentials(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, adminSession := e.signUpAndLogin("root_admin", "admin password", store.RoleAdmin)
	var cr apiv1.CreateAPIClientResponse
	e.do("POST", "/v1/admin/clients", `{"name":"Indexer","scopes":["streams:read","audit:read"]}`, cookie(adminSession)...).into(t, &cr)
	require.Equal(t, []string{"audit:read", "streams:read"}, cr.Scopes)
	e.keep(cr.ClientSecret)
	require.Contains(t, e.do("POST", "/v1/admin/clients", `{"name":"x","scopes":["BAD SCOPE"]}`, cookie(adminSession)...).fails(t, http.StatusBadRequest), "invalid scopes")
	require.Contains(t, e.do("POST", "/v1/admin/clients", `{"name":"x"}`, cookie(adminSession)...).fails(t, http.StatusBadRequest), "invalid scopes")

	type tokenResp struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
		Scope       string `json:"scope"`
		Error       string `json:"error"`
	}
	token := func(form url.Values, basicID, basicSecret string) (int, http.Header, tokenResp) {
		req, err := http.NewRequest("POST", e.http+"/oauth2/token", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basicID != "" {
			req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var tr tokenResp
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&tr))
		if tr.AccessToken != "" {
			e.keep(tr.AccessToken)
		}
		return resp.StatusCode, resp.Header, tr
	}
	code, hdr, full := token(url.Values{"grant_type": {"client_credentials"}}, cr.ClientId, cr.ClientSecret)
	require.Equal(t, http.StatusOK, code, full.Error)
	require.Equal(t, "bearer", full.TokenType)
	require.Equal(t, "audit:read streams:read", full.Scope)
	require.InDelta(t, 3600, full.ExpiresIn, 5)
	require.Equal(t, "no-store", hdr.Get("Cache-Control"))
	code, _, narrow := token(url.Values{"grant_type": {"client_credentials"}, "client_id": {cr.ClientId}, "client_secret": {cr.ClientSecret}, "scope": {"streams:read"}}, "", "")
	require.Equal(t, http.StatusOK, code, narrow.Error)
	require.Equal(t, "streams:read", narrow.Scope)

	for _, ca := range []struct {
		name     string
		form     url.Values
		id, sec  string
		code     int
		oauthErr string
	}{
		{"wrong secret", url.Values{"grant_type": {"client_credentials"}}, cr.ClientId, "bcs_" + strings.Repeat("A", 43), 401, "invalid_client"},
		{"unknown client", url.Values{"grant_type": {"client_credentials"}}, "bc_nobody", cr.ClientSecret, 401, "invalid_client"},
		{"no credentials", url.Values{"grant_type": {"client_credentials"}}, "", "", 401, "invalid_client"},
		{"both methods", url.Values{"grant_type": {"client_credentials"}, "client_id": {cr.ClientId}}, cr.ClientId, cr.ClientSecret, 400, "invalid_request"},
		{"password grant", url.Values{"grant_type": {"password"}}, cr.ClientId, cr.ClientSecret, 400, "unsupported_grant_type"},
		{"no grant", url.Values{}, cr.ClientId, cr.ClientSecret, 400, "invalid_request"},
		{"scope not granted", url.Values{"grant_type": {"client_credentials"}, "scope": {"admin:all"}}, cr.ClientId, cr.ClientSecret, 400, "invalid_scope"},
		{"repeated parameter", url.Values{"grant_type": {"client_credentials", "client_credentials"}}, cr.ClientId, cr.ClientSecret, 400, "invalid_request"},
		{"sql injection id", url.Values{"grant_type": {"client_credentials"}}, "x' OR '1'='1", cr.ClientSecret, 401, "invalid_client"},
	} {
		t.Run(ca.name, func(t *testing.T) {
			code, hdr, tr := token(ca.form, ca.id, ca.sec)
			require.Equal(t, ca.code, code)
			require.Equal(t, ca.oauthErr, tr.Error)
			require.Empty(t, tr.AccessToken)
			if code == 401 && ca.id != "" {
				require.Contains(t, hdr.Get("WWW-Authenticate"), "Basic")
			}
		})
	}
	r := e.do("POST", "/oauth2/token", `{"grant_type":"client_credentials"}`)
	require.Equal(t, http.StatusBadRequest, r.code, "JSON is not the token request encoding")
	require.Contains(t, string(r.body), "invalid_request")
	r = e.do("GET", "/oauth2/token", "")
	require.Equal(t, http.StatusMethodNotAllowed, r.code)
	require.Equal(t, "POST", r.hdr.Get("Allow"))

	// The scoped method: the audit log.
	var la apiv1.ListAuditEventsResponse
	e.do("GET", "/v1/admin/audit-events?kind=token_issued", "", bearer(full.AccessToken)...).into(t, &la)
	require.NotEmpty(t, la.Events)
	for _, ev := range la.Events {
		require.Equal(t, "token_issued", ev.Kind)
	}
	before := len(e.audit(store.AuditAccessDenied))
	msg := e.do("GET", "/v1/admin/audit-events", "", bearer(narrow.AccessToken)...).fails(t, http.StatusForbidden)
	require.Contains(t, msg, `missing scope "audit:read"`)
	denied := e.audit(store.AuditAccessDenied)
	require.Len(t, denied, before+1)
	require.Equal(t, cr.ClientId, denied[0].ClientID)
	require.Contains(t, denied[0].Detail, "ListAuditEvents")
	require.Contains(t, e.do("GET", "/v1/me", "", bearer(full.AccessToken)...).fails(t, http.StatusForbidden), "signed-in user")
	require.Contains(t, e.do("POST", "/v1/admin/clients", `{"name":"y","scopes":["a"]}`, bearer(full.AccessToken)...).fails(t, http.StatusForbidden), "user")
	// Public methods accept tokens too.
	e.do("GET", "/v1/version", "", bearer(narrow.AccessToken)...).into(t, &apiv1.GetVersionResponse{})

	// Same over gRPC.
	adm := apiv1.NewAdminServiceClient(e.conn)
	tctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+full.AccessToken)
	_, err := adm.ListAuditEvents(tctx, &apiv1.ListAuditEventsRequest{PageSize: 1})
	require.NoError(t, err)
	_, err = adm.ListAuditEvents(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+narrow.AccessToken), &apiv1.ListAuditEventsRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	_, err = adm.ListAuditEvents(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Basic abc"), &apiv1.ListAuditEventsRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	require.Contains(t, status.Convert(err).Message(), "malformed Authorization header")

	// Pagination of the audit log.
	var p1, p2 apiv1.ListAuditEventsResponse
	e.do("GET", "/v1/admin/audit-events?page_size=2", "", bearer(full.AccessToken)...).into(t, &p1)
	require.Len(t, p1.Events, 2)
	require.NotEmpty(t, p1.NextPageToken)
	e.do("GET", "/v1/admin/audit-events?page_size=2&page_token="+url.QueryEscape(p1.NextPageToken), "", bearer(full.AccessToken)...).into(t, &p2)
	require.Less(t, p2.Events[0].Id, p1.Events[1].Id, "newest first, no overlap")
	require.Contains(t, e.do("GET", "/v1/admin/audit-events?kind=login&page_token="+url.QueryEscape(p1.NextPageToken), "", bearer(full.AccessToken)...).fails(t, http.StatusBadRequest), "page_token", "a token is bound to its filters")

	// Revoked token → 401.
	req, _ := http.NewRequest("POST", e.http+"/oauth2/revoke", strings.NewReader(url.Values{"token": {narrow.AccessToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, e.do("GET", "/v1/admin/audit-events", "", bearer(narrow.AccessToken)...).fails(t, http.StatusUnauthorized), "access token revoked")
	require.Contains(t, e.do("GET", "/v1/admin/audit-events", "", bearer("bat_"+strings.Repeat("x", 43))...).fails(t, http.StatusUnauthorized), "invalid access token")

	// Expired token → 401.
	e.clock.Advance(2 * time.Hour)
	require.Contains(t, e.do("GET", "/v1/admin/audit-events", "", bearer(full.AccessToken)...).fails(t, http.StatusUnauthorized), "access token expired")

	// Revoked client → its tokens are revoked.
	code, _, fresh := token(url.Values{"grant_type": {"client_credentials"}}, cr.ClientId, cr.ClientSecret)
	require.Equal(t, http.StatusOK, code)
	e.do("DELETE", "/v1/admin/clients/"+cr.ClientId, "", cookie(adminSession)...).into(t, &apiv1.RevokeAPIClientResponse{})
	require.Contains(t, e.do("GET", "/v1/admin/audit-events", "", bearer(fresh.AccessToken)...).fails(t, http.StatusUnauthorized), "revoked")
	code, _, _ = token(url.Values{"grant_type": {"client_credentials"}}, cr.ClientId, cr.ClientSecret)
	require.Equal(t, http.StatusUnauthorized, code)
	e.checkLogs()
}

func maskOf(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

// TestRolesAndDenials: a viewer calling admin methods gets 403 and an audit
// entry; anonymous callers get 401 and an audit entry; roles granted over
// the API take effect on the next call.
func TestRolesAndDenials(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, adminSession := e.signUpAndLogin("the_admin", "admin password", store.RoleAdmin)
	viewerID, viewerSession := e.signUpAndLogin("vic_viewer", "viewer password")

	path := "/v1/admin/users/" + itoa(viewerID) + "/roles"
	msg := e.do("POST", path, `{"role":"admin"}`, cookie(viewerSession)...).fails(t, http.StatusForbidden)
	require.Contains(t, msg, "requires a user with role [admin]")
	denied := e.audit(store.AuditAccessDenied)
	require.NotEmpty(t, denied)
	require.Equal(t, store.UserID(viewerID), denied[0].ActorID)
	require.Equal(t, "vic_viewer", denied[0].Login)
	require.Equal(t, store.OutcomeDenied, denied[0].Outcome)
	require.Contains(t, denied[0].Detail, "/beacon.api.v1.AdminService/GrantRole")
	require.Equal(t, "127.0.0.1", denied[0].IP)
	e.do("POST", "/v1/admin/clients", `{"name":"x","scopes":["a"]}`, cookie(viewerSession)...).fails(t, http.StatusForbidden)
	e.do("GET", "/v1/admin/audit-events", "", cookie(viewerSession)...).fails(t, http.StatusForbidden)

	require.Contains(t, e.do("POST", path, `{"role":"admin"}`).fails(t, http.StatusUnauthorized), "authentication required")
	denied = e.audit(store.AuditAccessDenied)
	require.Zero(t, denied[0].ActorID)
	require.Contains(t, denied[0].Detail, "authentication required")
	require.Contains(t, e.do("POST", path, `{"role":"admin"}`, cookie("not-a-session")...).fails(t, http.StatusUnauthorized), "invalid session")

	// Nothing was granted by the denied calls.
	u, err := e.st.UserByID(context.Background(), store.UserID(viewerID))
	require.NoError(t, err)
	require.Equal(t, []store.Role{store.RoleViewer}, u.Roles)

	var gr apiv1.GrantRoleResponse
	e.do("POST", path, `{"role":"moderator"}`, cookie(adminSession)...).into(t, &gr)
	require.Equal(t, []string{"viewer", "moderator"}, gr.Roles)
	var la apiv1.ListAuditEventsResponse
	e.do("GET", "/v1/admin/audit-events?kind=role_granted", "", cookie(viewerSession)...).into(t, &la)
	require.Len(t, la.Events, 2, "a moderator reads the audit log")
	require.Equal(t, viewerID, la.Events[0].SubjectId)
	require.Equal(t, "moderator", la.Events[0].Detail)
	e.do("POST", path, `{"role":"admin"}`, cookie(viewerSession)...).fails(t, http.StatusForbidden)

	require.Contains(t, e.do("POST", path, `{"role":"emperor"}`, cookie(adminSession)...).fails(t, http.StatusBadRequest), "invalid role")
	e.do("POST", "/v1/admin/users/424242/roles", `{"role":"moderator"}`, cookie(adminSession)...).fails(t, http.StatusNotFound)
	var rr apiv1.RevokeRoleResponse
	e.do("DELETE", path+"/moderator", "", cookie(adminSession)...).into(t, &rr)
	require.Equal(t, []string{"viewer"}, rr.Roles)
	e.do("GET", "/v1/admin/audit-events", "", cookie(viewerSession)...).fails(t, http.StatusForbidden)
	e.do("DELETE", path+"/viewer", "", cookie(adminSession)...).fails(t, http.StatusBadRequest)

	// A disabled account's session stops working.
	require.NoError(t, e.st.SetDisabled(context.Background(), store.UserID(viewerID), true))
	require.Contains(t, e.do("GET", "/v1/me", "", cookie(viewerSession)...).fails(t, http.StatusForbidden), "account disabled")
	e.checkLogs()
}

// TestRateLimits: anonymous callers are limited per IP (X-Forwarded-For
// trusted from loopback), token callers per client, credential checks per
// IP; over gRPC the status carries RetryInfo and "retry-after" metadata.
func TestRateLimits(t *testing.T) {
	e := newEnv(t, envOptions{limiter: frozenLimiter(3), credLim: frozenLimiter(2)})
	for range 3 {
		e.do("GET", "/v1/version", "").into(t, &apiv1.GetVersionResponse{})
	}
	r := e.do("GET", "/v1/version", "")
	require.Contains(t, r.fails(t, http.StatusTooManyRequests), "rate limit exceeded")
	// Another client address behind the (loopback) gateway has its own bucket.
	e.do("GET", "/v1/version", "", "X-Forwarded-For", "203.0.113.7").into(t, &apiv1.GetVersionResponse{})

	// Over gRPC the peer is 127.0.0.1 too: same exhausted bucket.
	ver := apiv1.NewVersionServiceClient(e.conn)
	var hdr, trl metadata.MD
	_, err := ver.GetVersion(context.Background(), &apiv1.GetVersionRequest{}, grpc.Header(&hdr), grpc.Trailer(&trl))
	require.Equal(t, codes.ResourceExhausted, status.Code(err))
	ra := append(hdr.Get("retry-after"), trl.Get("retry-after")...)
	require.NotEmpty(t, ra, "retry-after metadata")
	var ri *errdetails.RetryInfo
	for _, d := range status.Convert(err).Details() {
		if v, ok := d.(*errdetails.RetryInfo); ok {
			ri = v
		}
	}
	require.NotNil(t, ri)
	require.GreaterOrEqual(t, ri.RetryDelay.AsDuration(), time.Second)

	// Credential endpoints: their own stricter per-IP bucket.
	body := jsonBody(map[string]string{"login": "nobody", "password": "whatever1"})
	hdrs := []string{"X-Forwarded-For", "198.51.100.9"}
	e.do("POST", "/v1/sessions", body, hdrs...).fails(t, http.StatusUnauthorized)
	e.do("POST", "/v1/sessions", body, hdrs...).fails(t, http.StatusUnauthorized)
	e.do("POST", "/v1/sessions", body, hdrs...).fails(t, http.StatusTooManyRequests)
	before := len(e.audit(store.AuditLoginFailed))
	e.do("POST", "/v1/sessions", body, hdrs...).fails(t, http.StatusTooManyRequests)
	require.Len(t, e.audit(store.AuditLoginFailed), before, "a limited call never reaches the password check")

	// Code checks of a signed-in user are limited per account too, whatever
	// the address.
	xA, xB, xC := []string{"X-Forwarded-For", "192.0.2.1"}, []string{"X-Forwarded-For", "192.0.2.2"}, []string{"X-Forwarded-For", "192.0.2.3"}
	var su apiv1.SignUpResponse
	e.do("POST", "/v1/accounts", jsonBody(map[string]string{"login": "limited", "password": "limited password"}), xA...).into(t, &su)
	var lr apiv1.LoginResponse
	e.do("POST", "/v1/sessions", jsonBody(map[string]string{"login": "limited", "password": "limited password"}), xA...).into(t, &lr)
	e.keep(lr.SessionId)
	dis := func(x []string) reply {
		return e.do("POST", "/v1/me/totp:disable", `{"code":"123456"}`, append(cookie(lr.SessionId), x...)...)
	}
	dis(xB).fails(t, http.StatusConflict) // TOTP is not on
	dis(xC).fails(t, http.StatusConflict)
	require.Contains(t, dis([]string{"X-Forwarded-For", "192.0.2.4"}).fails(t, http.StatusTooManyRequests), "rate limit")

	// The token endpoint shares the credential bucket and sends Retry-After.
	req, _ := http.NewRequest("POST", e.http+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "198.51.100.9")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.Contains(t, string(b), "slow_down")
}

// TestLockoutIs429: repeated wrong passwords lock the account; the API
// answers 429 and says until when.
func TestLockoutIs429(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.signUpAndLogin("locky", "locky password")
	body := jsonBody(map[string]string{"login": "locky", "password": "not the password"})
	for range 4 {
		e.do("POST", "/v1/sessions", body).fails(t, http.StatusUnauthorized)
	}
	require.Contains(t, e.do("POST", "/v1/sessions", body).fails(t, http.StatusTooManyRequests), "locked")
	require.Contains(t, e.do("POST", "/v1/sessions", jsonBody(map[string]string{"login": "locky", "password": "locky password"})).fails(t, http.StatusTooManyRequests), "locked", "even the right password waits")
	require.NotEmpty(t, e.audit(store.AuditLoginLocked))
	e.checkLogs()
}

// TestMissingMethodDenied: a method absent from the access table is denied
// (fail closed) with an audit entry, even for a public endpoint.
func TestMissingMethodDenied(t *testing.T) {
	e := newEnv(t, envOptions{dropMethod: apiv1.VersionService_GetVersion_FullMethodName})
	require.Contains(t, e.do("GET", "/v1/version", "").fails(t, http.StatusForbidden), "not open to any caller")
	_, err := apiv1.NewVersionServiceClient(e.conn).GetVersion(context.Background(), &apiv1.GetVersionRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	denied := e.audit(store.AuditAccessDenied)
	require.Len(t, denied, 2)
	require.Contains(t, denied[0].Detail, "VersionService/GetVersion")
	require.Contains(t, e.logs.String(), "method missing from the access table")
}

// TestStreamInterceptor: public streams pass; any other stream is denied
// and audited.
func TestStreamInterceptor(t *testing.T) {
	e := newEnv(t, envOptions{})
	si := e.authn.StreamInterceptor()
	called := 0
	h := func(any, grpc.ServerStream) error { called++; return nil }
	ss := &fakeStream{ctx: context.Background()}
	require.NoError(t, si(nil, ss, &grpc.StreamServerInfo{FullMethod: "/grpc.health.v1.Health/Watch", IsServerStream: true}, h))
	err := si(nil, ss, &grpc.StreamServerInfo{FullMethod: "/beacon.api.v1.Nope/Stream", IsServerStream: true}, h)
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	err = si(nil, ss, &grpc.StreamServerInfo{FullMethod: apiv1.AccountsService_GetMe_FullMethodName, IsServerStream: true}, h)
	require.Equal(t, codes.PermissionDenied, status.Code(err), "a non-public entry cannot be streamed")
	require.Equal(t, 1, called)
	require.Len(t, e.audit(store.AuditAccessDenied), 2)
}

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (f *fakeStream) Context() context.Context { return f.ctx }

// TestAccessTableCoversEveryMethod: every unary method registered by the
// chassis and the services of this package is in the table, so none is
// denied by omission.
func TestAccessTableCoversEveryMethod(t *testing.T) {
	s, err := New(Config{})
	require.NoError(t, err)
	NewDirectoryService(nil, nil, nil).Register(s)
	acc, err := NewAccountsService(AccountsConfig{Auth: &auth.Service{}, Store: openSQLite(t)})
	require.NoError(t, err)
	acc.Register(s)
	rules := accessRules()
	n := 0
	for name, info := range s.GRPC().GetServiceInfo() {
		for _, m := range info.Methods {
			full := "/" + name + "/" + m.Name
			if m.IsClientStream || m.IsServerStream {
				require.True(t, rules[full].public, "%s: streams can only be public", full)
			}
			_, ok := rules[full]
			require.True(t, ok, "%s is missing from accessRules", full)
			n++
		}
	}
	require.Positive(t, n)
	// Every entry names a method that exists (services registered elsewhere
	// included), so a typo cannot hide a real method's rule.
	for m := range rules {
		svc, meth, ok := strings.Cut(strings.TrimPrefix(m, "/"), "/")
		require.True(t, ok, m)
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
		require.NoError(t, err, "%s: unknown service", m)
		sd, ok := d.(protoreflect.ServiceDescriptor)
		require.True(t, ok, m)
		require.NotNil(t, sd.Methods().ByName(protoreflect.Name(meth)), "%s: unknown method", m)
	}
}

// TestHostileInput: malformed JSON, SQL injection, overlong and invalid
// UTF-8 input → 400 naming the field, and nothing written.
func TestHostileInput(t *testing.T) {
	e := newEnv(t, envOptions{})
	long := strings.Repeat("a", 5000)
	for _, ca := range []struct {
		name, body, want string
	}{
		{"malformed json", `{"login":`, ""},
		{"not an object", `[1,2]`, ""},
		{"unknown field", `{"login":"bob_x","password":"password1","admin":true}`, "admin"},
		{"wrong type", `{"login":1,"password":"password1"}`, ""},
		{"sql injection login", `{"login":"x' OR '1'='1","password":"password1"}`, "invalid login"},
		{"sql drop table", `{"login":"robert'); DROP TABLE users;--","password":"password1"}`, "invalid login"},
		{"overlong login", `{"login":"` + long + `","password":"password1"}`, "invalid login"},
		{"overlong display name", `{"login":"okname","password":"password1","display_name":"` + long + `"}`, "invalid display_name"},
		{"control char display name", `{"login":"okname","password":"password1","display_name":"a\u0000b"}`, "invalid display_name"},
		{"bad email", `{"login":"okname","password":"password1","email":"not-an-email"}`, "invalid email"},
		{"short password", `{"login":"okname","password":"short"}`, "invalid password"},
		{"overlong password", `{"login":"okname","password":"` + long + `"}`, "invalid password"},
		{"invalid utf-8 bytes", "{\"login\":\"ok\xffname\",\"password\":\"password1\"}", ""},
		{"lone surrogate", `{"login":"okname","password":"password1","display_name":"a\ud800b"}`, ""},
		{"confusable cyrillic", `{"login":"аdmin","password":"password1"}`, "invalid login"},
		{"empty body", ``, ""},
	} {
		t.Run(ca.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", e.http+"/v1/accounts", strings.NewReader(ca.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			msg := reply{code: resp.StatusCode, body: b}.fails(t, http.StatusBadRequest)
			require.NotEmpty(t, msg)
			require.Contains(t, msg, ca.want)
			require.NotContains(t, msg, "password1", "errors never echo the password")
		})
	}
	require.Empty(t, e.audit(store.AuditSignUp), "no account was created")
	for _, l := range []string{"okname", "bob_x", "admin"} {
		_, err := e.st.UserByLogin(context.Background(), l)
		require.ErrorIs(t, err, store.ErrNotFound)
	}
	r := e.do("POST", "/v1/accounts", `{"login":"big","password":"`+strings.Repeat("p", 70<<10)+`"}`)
	// The gateway reports the chassis's body limit as InvalidArgument (400),
	// not 413; either way the call is refused with a clear message.
	require.Contains(t, []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge}, r.code)
	require.Contains(t, string(r.body), "too large")
	require.Empty(t, e.audit(store.AuditSignUp))

	// Channel fields.
	_, s := e.signUpAndLogin("hostile", "hostile password")
	var cc apiv1.CreateMyChannelResponse
	e.do("POST", "/v1/me/channel", `{"title":"start","tags":["ok"]}`, cookie(s)...).into(t, &cc)
	e.keep(cc.StreamKey)
	for _, ca := range []struct{ name, body, want string }{
		{"overlong title", `{"title":"` + strings.Repeat("t", 141) + `"}`, "invalid title"},
		{"too many tags", `{"tags":["a","b","c","d","e","f","g","h","i","j","k"]}`, "invalid tags"},
		{"tag with space", `{"tags":["two words"]}`, "invalid tags"},
		{"tag injection", `{"tags":["x'); DROP TABLE channels;--"]}`, "invalid tags"},
		{"overlong tag", `{"tags":["` + strings.Repeat("x", 26) + `"]}`, "invalid tags"},
		{"bad language", `{"language":"english"}`, "invalid language"},
		{"unknown category", `{"category_id":"999999"}`, "invalid category_id"},
		{"negative category", `{"category_id":"-1"}`, "invalid category_id"},
		{"read-only field", `{"id":"5"}`, "invalid update_mask"},
		{"title control chars", `{"title":"a\nb"}`, "invalid title"},
		{"malformed json", `{"title":`, ""},
		{"empty patch", `{}`, "invalid update_mask"},
	} {
		t.Run("channel "+ca.name, func(t *testing.T) {
			msg := e.do("PATCH", "/v1/me/channel", ca.body, cookie(s)...).fails(t, http.StatusBadRequest)
			require.Contains(t, msg, ca.want)
		})
	}
	var ch apiv1.Channel
	e.do("GET", "/v1/me/channel", "", cookie(s)...).into(t, &ch)
	require.Equal(t, "start", ch.Title, "nothing was written")
	require.Equal(t, []string{"ok"}, ch.Tags)
	require.Equal(t, "en", ch.Language)

	// SQL injection in free text is stored verbatim (parameterized queries).
	inj := `Robert'); DROP TABLE channels;-- "x" \ %`
	e.do("PATCH", "/v1/me/channel", jsonBody(map[string]string{"title": inj}), cookie(s)...).into(t, &ch)
	e.do("GET", "/v1/me/channel", "", cookie(s)...).into(t, &ch)
	require.Equal(t, inj, ch.Title)

	// Login with hostile input is 401 or 400, never 500.
	for _, l := range []string{"' OR 1=1 --", long, "ok\xffname"} {
		b, _ := json.Marshal(map[string]string{"login": l, "password": "password1"})
		r := e.do("POST", "/v1/sessions", string(b))
		require.Contains(t, []int{400, 401}, r.code, string(r.body))
	}
	e.checkLogs()
}

func TestClientAddr(t *testing.T) {
	for _, ca := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"direct peer", "198.51.100.1", nil, "198.51.100.1"},
		{"xff ignored from a remote peer", "198.51.100.1", []string{"203.0.113.5"}, "198.51.100.1"},
		{"gateway appends the HTTP peer", "127.0.0.1", []string{"203.0.113.5"}, "203.0.113.5"},
		{"spoofed entries left of the real peer", "127.0.0.1", []string{"10.0.0.1, 203.0.113.5"}, "203.0.113.5"},
		{"local proxy then gateway", "127.0.0.1", []string{"203.0.113.9, 127.0.0.1"}, "203.0.113.9"},
		{"spoofed loopback", "127.0.0.1", []string{"127.0.0.1, 203.0.113.5"}, "203.0.113.5"},
		{"garbage stops at the last trusted hop", "127.0.0.1", []string{"evil, 127.0.0.1"}, "127.0.0.1"},
		{"all loopback", "::1", []string{"127.0.0.1"}, "127.0.0.1"},
		{"ipv6", "::1", []string{"2001:db8::1"}, "2001:db8::1"},
		{"mapped v4", "::ffff:127.0.0.1", []string{"::ffff:203.0.113.5"}, "203.0.113.5"},
		{"no peer", "", []string{"203.0.113.5"}, ""},
	} {
		t.Run(ca.name, func(t *testing.T) {
			require.Equal(t, ca.want, clientAddr(hostOf(ca.peer), ca.xff))
		})
	}
}

func FuzzClientAddr(f *testing.F) {
	f.Add("127.0.0.1", "203.0.113.5, 127.0.0.1")
	f.Add("::1", "evil,,, ,2001:db8::1")
	f.Add("198.51.100.1", "1.2.3.4")
	f.Fuzz(func(t *testing.T, peer, xff string) {
		got := clientAddr(hostOf(peer), []string{xff})
		if got == "" {
			return
		}
		_, err := netip.ParseAddr(got)
		require.NoError(t, err, "the result is always an IP address")
	})
}

func TestParseTokenRequest(t *testing.T) {
	basic := func(id, secret string) string {
		r := &http.Request{Header: http.Header{}}
		r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		return r.Header.Get("Authorization")
	}
	const form = "application/x-www-form-urlencoded"
	for _, ca := range []struct {
		name, method, ctype, authz, body string
		wantErr                          string
		wantID                           string
		wantScopes                       []string
	}{
		{"basic", "POST", form, basic("bc_a", "s+e/c"), "grant_type=client_credentials", "", "bc_a", nil},
		{"body", "POST", form + "; charset=utf-8", "", "grant_type=client_credentials&client_id=bc_a&client_secret=x&scope=a+b", "", "bc_a", []string{"a", "b"}},
		{"get", "GET", form, "", "", "invalid_request", "", nil},
		{"json", "POST", "application/json", "", `{}`, "invalid_request", "", nil},
		{"bad grant", "POST", form, "", "grant_type=password", "unsupported_grant_type", "", nil},
		{"bearer auth", "POST", form, "Bearer x", "grant_type=client_credentials", "invalid_client", "", nil},
		{"bad basic", "POST", form, "Basic !!!", "grant_type=client_credentials", "invalid_client", "", nil},
		{"empty scope", "POST", form, basic("a", "b"), "grant_type=client_credentials&scope=+", "invalid_scope", "", nil},
		{"bad escape", "POST", form, "", "grant_type=%zz", "invalid_request", "", nil},
		{"invalid utf8", "POST", form, "", "grant_type=client_credentials&client_id=%ff&client_secret=x", "invalid_request", "", nil},
		{"too large", "POST", form, "", "grant_type=client_credentials&x=" + strings.Repeat("a", maxFormBytes), "invalid_request", "", nil},
	} {
		t.Run(ca.name, func(t *testing.T) {
			tr, e := parseTokenRequest(ca.method, ca.ctype, ca.authz, strings.NewReader(ca.body))
			if ca.wantErr != "" {
				require.NotNil(t, e)
				require.Equal(t, ca.wantErr, e.Code)
				return
			}
			require.Nil(t, e)
			require.Equal(t, ca.wantID, tr.clientID)
			require.Equal(t, ca.wantScopes, tr.scopes)
		})
	}
}

func FuzzParseTokenRequest(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "Basic YmNfYTpi", "grant_type=client_credentials&scope=a%20b")
	f.Add("application/x-www-form-urlencoded", "", "grant_type=client_credentials&client_id=bc_a&client_secret=bcs_x")
	f.Add("text/plain", "Bearer x", "%%%")
	f.Fuzz(func(t *testing.T, ctype, authz, body string) {
		tr, e := parseTokenRequest("POST", ctype, authz, strings.NewReader(body))
		if e != nil {
			require.NotEmpty(t, e.Code)
			require.GreaterOrEqual(t, e.status, 400)
			return
		}
		require.NotEmpty(t, tr.clientID)
		require.NotEmpty(t, tr.secret)
	})
}

func TestCredentialHeaders(t *testing.T) {
	for _, ca := range []struct {
		authz, want string
		ok          bool
	}{
		{"Bearer bat_x", "bat_x", true},
		{"bearer   bat_x  ", "bat_x", true},
		{"Basic abc", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"", "", false},
	} {
		got, ok := bearerToken(ca.authz)
		require.Equal(t, ca.ok, ok, ca.authz)
		require.Equal(t, ca.want, got, ca.authz)
	}
	for _, ca := range []struct {
		md   metadata.MD
		want string
	}{
		{metadata.Pairs("cookie", "a=b; beacon_session=s1"), "s1"},
		{metadata.Pairs("grpcgateway-cookie", "beacon_session=s2"), "s2"},
		{metadata.Pairs("cookie", "beacon_session="), ""},
		{metadata.Pairs("cookie", "garbage;;;=="), ""},
		{metadata.Pairs("cookie", "other=1"), ""},
		{metadata.MD{}, ""},
	} {
		require.Equal(t, ca.want, sessionCookie(ca.md), ca.md)
	}
}

func FuzzCredentialHeaders(f *testing.F) {
	f.Add("Bearer bat_abc", "beacon_session=abc; x=y")
	f.Add("bearer\t", "beacon_session=\"quoted\"")
	f.Add("", ";;;beacon_session")
	f.Fuzz(func(t *testing.T, authz, cookieHdr string) {
		if tok, ok := bearerToken(authz); ok {
			require.NotEmpty(t, tok)
			require.Equal(t, strings.TrimSpace(tok), tok)
		}
		_ = sessionCookie(metadata.MD{"cookie": {cookieHdr}, "grpcgateway-cookie": {cookieHdr}})
	})
}

// fakeResolver resolves every token to one client principal.
type fakeResolver struct{ p auth.Principal }

func (f fakeResolver) VerifyToken(context.Context, string, ...string) (auth.Principal, error) {
	return f.p, nil
}

func (f fakeResolver) ResolveSession(context.Context, string) (auth.Principal, error) {
	return auth.Principal{}, auth.ErrUnauthenticated
}

func (f fakeResolver) Audit(context.Context, store.AuditEvent) {}

// BenchmarkInterceptor measures the interceptor's own cost on a token call
// to a scoped method (credential lookup faked, rate limit and table real).
func BenchmarkInterceptor(b *testing.B) {
	a, err := NewAuthenticator(AuthConfig{Auth: fakeResolver{p: auth.Principal{Kind: auth.PrincipalClient, ClientID: "bc_x", Scopes: []string{ScopeAuditRead}, ExpiresAt: time.Now().Add(time.Hour)}},
		Limiter: auth.NewLimiter(auth.LimiterConfig{Rate: 1e9, Burst: 1e9})})
	require.NoError(b, err)
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer bat_"+strings.Repeat("x", 43)))
	info := &grpc.UnaryServerInfo{FullMethod: apiv1.AdminService_ListAuditEvents_FullMethodName}
	h := func(context.Context, any) (any, error) { return nil, nil }
	for b.Loop() {
		if _, err := a.intercept(ctx, nil, info, h); err != nil {
			b.Fatal(err)
		}
	}
}
