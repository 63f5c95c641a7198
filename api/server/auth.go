package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	apiv1 "github.com/beaconlive/beacon/api/gen/beacon/api/v1"
	"github.com/beaconlive/beacon/auth"
	"github.com/beaconlive/beacon/store"
)

// Scopes an API client may be granted that the API checks.
const (
	// ScopeAuditRead lets a client read the audit log.
	ScopeAuditRead = "audit:read"
)

// access is what one gRPC method requires. A method is allowed when it is
// public, or when the caller is a user session that qualifies (anyUser, or
// holds one of roles), or an API client token holding every scope of
// scopes. Everything else is denied.
type access struct {
	// public methods need no credential; one presented is still resolved
	// (for the per-client rate limit) but a bad one is ignored, so a stale
	// cookie never breaks the public directory.
	public bool
	// anyUser admits every signed-in user.
	anyUser bool
	// roles admits users holding one of them.
	roles []store.Role
	// scopes admits API clients holding all of them; nil refuses clients.
	scopes []string
	// credential marks calls that check a password or a code: they draw on
	// the stricter credential limiter (per IP, and per user when signed in).
	credential bool
}

func (a access) String() string {
	switch {
	case a.public:
		return "public"
	case a.anyUser && a.scopes != nil:
		return fmt.Sprintf("a user session or a token with scopes %v", a.scopes)
	case a.anyUser:
		return "a user session"
	case len(a.roles) > 0 && a.scopes != nil:
		return fmt.Sprintf("a user with role %v or a token with scopes %v", a.roles, a.scopes)
	case len(a.roles) > 0:
		return fmt.Sprintf("a user with role %v", a.roles)
	case a.scopes != nil:
		return fmt.Sprintf("a token with scopes %v", a.scopes)
	}
	return "nobody"
}

// accessRules is THE table of what every gRPC method requires. A method
// that is not listed is denied (fail closed), so a new service is
// unreachable until it is added here. Streaming methods are enforced by
// StreamInterceptor, which only public entries can pass.
func accessRules() map[string]access {
	public := access{public: true}
	credential := access{public: true, credential: true}
	user := access{anyUser: true}
	userCredential := access{anyUser: true, credential: true}
	admin := access{roles: []store.Role{store.RoleAdmin}}
	return map[string]access{
		// The chassis's own services; Watch and the reflection streams are
		// streaming (see Authenticator.StreamInterceptor).
		apiv1.VersionService_GetVersion_FullMethodName:                   public,
		healthpb.Health_Check_FullMethodName:                             public,
		healthpb.Health_List_FullMethodName:                              public,
		healthpb.Health_Watch_FullMethodName:                             public,
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      public,
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": public,

		// The public directory.
		apiv1.StreamsService_ListStreams_FullMethodName:     public,
		apiv1.StreamsService_GetStream_FullMethodName:       public,
		apiv1.SearchService_SearchChannels_FullMethodName:   public,
		apiv1.SearchService_SearchCategories_FullMethodName: public,
		apiv1.SearchService_TopCategories_FullMethodName:    public,
		apiv1.SearchService_Suggest_FullMethodName:          public,

		// Accounts.
		apiv1.AccountsService_SignUp_FullMethodName:          credential,
		apiv1.AccountsService_Login_FullMethodName:           credential,
		apiv1.AccountsService_LoginTOTP_FullMethodName:       credential,
		apiv1.AccountsService_Logout_FullMethodName:          user,
		apiv1.AccountsService_GetMe_FullMethodName:           user,
		apiv1.AccountsService_BeginTOTP_FullMethodName:       user,
		apiv1.AccountsService_ConfirmTOTP_FullMethodName:     userCredential,
		apiv1.AccountsService_DisableTOTP_FullMethodName:     userCredential,
		apiv1.AccountsService_CreateMyChannel_FullMethodName: user,
		apiv1.AccountsService_GetMyChannel_FullMethodName:    user,
		apiv1.AccountsService_UpdateMyChannel_FullMethodName: user,
		apiv1.AccountsService_RotateStreamKey_FullMethodName: {roles: []store.Role{store.RoleStreamer}},
		apiv1.AccountsService_FollowChannel_FullMethodName:   user,
		apiv1.AccountsService_UnfollowChannel_FullMethodName: user,
		apiv1.AccountsService_ListMyFollows_FullMethodName:   user,

		// Administration.
		apiv1.AdminService_GrantRole_FullMethodName:       admin,
		apiv1.AdminService_RevokeRole_FullMethodName:      admin,
		apiv1.AdminService_CreateAPIClient_FullMethodName: admin,
		apiv1.AdminService_RevokeAPIClient_FullMethodName: admin,
		apiv1.AdminService_ListAuditEvents_FullMethodName: {roles: []store.Role{store.RoleAdmin, store.RoleModerator}, scopes: []string{ScopeAuditRead}},

		// Trust & safety: the flags queue (moderators only).
		apiv1.FlagsService_ListFlags_FullMethodName:  {roles: []store.Role{store.RoleModerator}},
		apiv1.FlagsService_GetFlag_FullMethodName:    {roles: []store.Role{store.RoleModerator}},
		apiv1.FlagsService_ReviewFlag_FullMethodName: {roles: []store.Role{store.RoleModerator}},
	}
}

// credentialResolver is the slice of auth.Service the interceptor uses.
type credentialResolver interface {
	VerifyToken(ctx context.Context, token string, scopes ...string) (auth.Principal, error)
	ResolveSession(ctx context.Context, session string) (auth.Principal, error)
	Audit(ctx context.Context, e store.AuditEvent)
}

// AuthConfig configures an Authenticator.
type AuthConfig struct {
	// Auth resolves tokens and sessions and records denials (an
	// *auth.Service). It is required.
	Auth credentialResolver
	// Logger defaults to a discarding logger. Credentials are never logged.
	Logger *slog.Logger
	// Limiter is the token bucket every call draws from, keyed by API
	// client, user or (anonymous callers) IP address. It defaults to
	// auth.NewLimiter's defaults: 10 calls/s, bursts of 20.
	Limiter *auth.Limiter
	// CredentialLimiter is the per-IP bucket of calls that check a password
	// or a code (sign up, log in, TOTP step) and of POST /oauth2/token. It
	// defaults to 1 call/s, bursts of 10.
	CredentialLimiter *auth.Limiter
}

// Authenticator is the API's authentication and rate-limiting interceptor:
// it resolves the caller, applies the rate limits, and enforces the access
// table (accessRules).
//
// # Credentials
//
// A bearer token in the "authorization" metadata ("Bearer bat_…", from an
// OAuth2 client-credentials grant) wins over a session cookie. The session
// cookie (beacon_session) is read from the "cookie" metadata (gRPC callers)
// or "grpcgateway-cookie" (the REST gateway forwards the Cookie header so).
//
// # Client address
//
// The caller's IP is the gRPC peer address. When that peer is a loopback
// address (the REST gateway, which dials the gRPC port on 127.0.0.1, or a
// reverse proxy on the same host), the "x-forwarded-for" metadata is
// trusted: its entries are read from the right, skipping loopback hops, and
// the first other entry is the client (the gateway appends the HTTP peer
// address last, so a client-sent X-Forwarded-For header cannot displace
// it). From any other peer, x-forwarded-for is ignored.
type Authenticator struct {
	cfg   AuthConfig
	log   *slog.Logger
	rules map[string]access
}

// NewAuthenticator returns an Authenticator.
func NewAuthenticator(cfg AuthConfig) (*Authenticator, error) {
	if cfg.Auth == nil {
		return nil, errors.New("server: AuthConfig.Auth is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	if cfg.Limiter == nil {
		cfg.Limiter = auth.NewLimiter(auth.LimiterConfig{})
	}
	if cfg.CredentialLimiter == nil {
		cfg.CredentialLimiter = auth.NewLimiter(auth.LimiterConfig{Rate: 1, Burst: 10})
	}
	return &Authenticator{cfg: cfg, log: cfg.Logger.With("component", "api_auth"), rules: accessRules()}, nil
}

// caller is what the interceptor learned about a call.
type caller struct {
	principal *auth.Principal
	// session is the session cookie value the principal came from ("" for
	// tokens and anonymous callers); Logout revokes it.
	session   string
	ip        string
	userAgent string
}

type callerKey struct{}

func withCaller(ctx context.Context, c *caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

func callerFrom(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey{}).(*caller)
	if c == nil {
		return &caller{}
	}
	return c
}

// PrincipalFrom returns the authenticated principal of a call that passed
// the Authenticator, or false for an anonymous call.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	c := callerFrom(ctx)
	if c.principal == nil {
		return auth.Principal{}, false
	}
	return *c.principal, true
}

// ClientIP returns the caller's address as the Authenticator determined it.
func ClientIP(ctx context.Context) string { return callerFrom(ctx).ip }

// Interceptor returns the unary interceptor to pass in Config.Interceptors.
func (a *Authenticator) Interceptor() grpc.UnaryServerInterceptor { return a.intercept }

func (a *Authenticator) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	c := &caller{ip: callerIP(ctx, md), userAgent: callerUserAgent(ctx, md)}
	rule, known := a.rules[info.FullMethod]
	p, session, credErr := a.resolve(ctx, md)
	if credErr == nil {
		c.principal, c.session = p, session
	}
	if err := a.limit(ctx, c, rule); err != nil {
		return nil, err
	}
	switch {
	case !known:
		a.log.Error("method missing from the access table; denied", "method", info.FullMethod)
		return nil, a.deny(ctx, c, info.FullMethod, codes.PermissionDenied, "this method is not open to any caller")
	case rule.public:
	case credErr != nil:
		return nil, a.deny(ctx, c, info.FullMethod, credErr.code, credErr.msg)
	default:
		if code, msg, ok := authorize(rule, c.principal); !ok {
			return nil, a.deny(ctx, c, info.FullMethod, code, msg)
		}
	}
	return handler(withCaller(ctx, c), req)
}

// StreamInterceptor returns the stream interceptor for streaming methods
// (server reflection, health Watch). It admits only methods the table marks
// public, rate-limited per IP like anonymous unary calls; any other stream,
// listed or not, is denied and audited, so a streaming method added later
// stays closed until this interceptor learns to authorize it.
func (a *Authenticator) StreamInterceptor() grpc.StreamServerInterceptor { return a.interceptStream }

func (a *Authenticator) interceptStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx := ss.Context()
	md, _ := metadata.FromIncomingContext(ctx)
	c := &caller{ip: callerIP(ctx, md), userAgent: callerUserAgent(ctx, md)}
	rule, known := a.rules[info.FullMethod]
	if ok, wait := a.cfg.Limiter.Reserve("ip:" + c.ip); !ok {
		return rateLimited(ctx, wait)
	}
	if !known || !rule.public {
		a.log.Error("streaming method not public in the access table; denied", "method", info.FullMethod)
		return a.deny(ctx, c, info.FullMethod, codes.PermissionDenied, "this method is not open to any caller")
	}
	return handler(srv, ss)
}

// credentialError is why a presented (or missing) credential does not
// authenticate.
type credentialError struct {
	code codes.Code
	msg  string
}

// resolve turns the call's credential into a principal. No credential is
// (nil, "", error "no credential").
func (a *Authenticator) resolve(ctx context.Context, md metadata.MD) (*auth.Principal, string, *credentialError) {
	if authz := md.Get("authorization"); len(authz) > 0 {
		tok, ok := bearerToken(authz[0])
		if !ok {
			return nil, "", &credentialError{codes.Unauthenticated, "malformed Authorization header: want \"Bearer <access token>\""}
		}
		p, err := a.cfg.Auth.VerifyToken(ctx, tok)
		if err != nil {
			return nil, "", a.credentialFailure(err, "access token")
		}
		return &p, "", nil
	}
	session := sessionCookie(md)
	if session == "" {
		return nil, "", &credentialError{codes.Unauthenticated, "authentication required: send a session cookie or an \"Authorization: Bearer <access token>\" header"}
	}
	p, err := a.cfg.Auth.ResolveSession(ctx, session)
	if err != nil {
		return nil, "", a.credentialFailure(err, "session")
	}
	return &p, session, nil
}

func (a *Authenticator) credentialFailure(err error, what string) *credentialError {
	switch {
	case errors.Is(err, auth.ErrTokenExpired):
		return &credentialError{codes.Unauthenticated, what + " expired"}
	case errors.Is(err, auth.ErrTokenRevoked):
		return &credentialError{codes.Unauthenticated, what + " revoked"}
	case errors.Is(err, auth.ErrAccountDisabled):
		return &credentialError{codes.PermissionDenied, "account disabled"}
	case errors.Is(err, auth.ErrUnauthenticated), errors.Is(err, auth.ErrInsufficientScope):
		return &credentialError{codes.Unauthenticated, "invalid " + what}
	case errors.Is(err, context.Canceled):
		return &credentialError{codes.Canceled, "request cancelled"}
	case errors.Is(err, context.DeadlineExceeded):
		return &credentialError{codes.DeadlineExceeded, "request timed out"}
	}
	a.log.Error("credential check failed", "what", what, "error", err)
	return &credentialError{codes.Unavailable, "cannot check credentials right now; try again"}
}

// bearerToken extracts the token of "Bearer <token>" (scheme case-insensitive).
func bearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// sessionCookie returns the beacon_session cookie of the call's Cookie
// metadata, or "".
func sessionCookie(md metadata.MD) string {
	vals := append(md.Get("cookie"), md.Get("grpcgateway-cookie")...)
	for _, v := range vals {
		if len(v) > 8192 {
			continue
		}
		cs, err := http.ParseCookie(v)
		if err != nil {
			continue
		}
		for _, c := range cs {
			if c.Name == auth.SessionCookieName && c.Value != "" {
				return c.Value
			}
		}
	}
	return ""
}

// authorize reports whether principal p satisfies rule (not public).
func authorize(rule access, p *auth.Principal) (codes.Code, string, bool) {
	if p == nil {
		return codes.Unauthenticated, "authentication required: send a session cookie or an \"Authorization: Bearer <access token>\" header", false
	}
	switch p.Kind {
	case auth.PrincipalUser:
		if rule.anyUser {
			return codes.OK, "", true
		}
		if len(rule.roles) == 0 {
			return codes.PermissionDenied, "this method needs an API client token, not a user session", false
		}
		if err := p.RequireRole(rule.roles...); err != nil {
			return codes.PermissionDenied, fmt.Sprintf("permission denied: requires %s", rule), false
		}
		return codes.OK, "", true
	case auth.PrincipalClient:
		if rule.scopes == nil {
			return codes.PermissionDenied, "this method needs a signed-in user; API client tokens cannot use it", false
		}
		if err := p.RequireScopes(rule.scopes...); err != nil {
			return codes.PermissionDenied, "insufficient scope: " + strings.TrimPrefix(err.Error(), auth.ErrInsufficientScope.Error()+": "), false
		}
		return codes.OK, "", true
	}
	return codes.PermissionDenied, "unknown principal", false
}

// deny audits and logs a denial and returns its status.
func (a *Authenticator) deny(ctx context.Context, c *caller, method string, code codes.Code, msg string) error {
	e := store.AuditEvent{Kind: store.AuditAccessDenied, Outcome: store.OutcomeDenied, IP: clipText(c.ip, store.MaxIPLen), Detail: clipText(method+": "+msg, store.MaxAuditDetailLen)}
	if p := c.principal; p != nil {
		e.ActorID, e.Login, e.ClientID = p.UserID, p.Login, p.ClientID
	}
	a.cfg.Auth.Audit(ctx, e)
	a.log.Info("access denied", "method", method, "code", code.String(), "user_id", int64(e.ActorID), "client_id", e.ClientID, "ip", c.ip, "reason", msg)
	return status.Error(code, msg)
}

// limit applies the token buckets.
func (a *Authenticator) limit(ctx context.Context, c *caller, rule access) error {
	lim, key := a.cfg.Limiter, "ip:"+c.ip
	switch {
	case rule.credential:
		// Per IP, and for a signed-in user also per account, so that
		// guessing a TOTP code from a stolen session is slow from any
		// number of addresses.
		lim = a.cfg.CredentialLimiter
		if c.principal != nil && c.principal.Kind == auth.PrincipalUser {
			if ok, wait := lim.Reserve("user:" + strconv.FormatInt(int64(c.principal.UserID), 10)); !ok {
				return rateLimited(ctx, wait)
			}
		}
	case c.principal != nil && c.principal.Kind == auth.PrincipalClient:
		key = "client:" + c.principal.ClientID
	case c.principal != nil:
		key = "user:" + strconv.FormatInt(int64(c.principal.UserID), 10)
	}
	ok, wait := lim.Reserve(key)
	if ok {
		return nil
	}
	return rateLimited(ctx, wait)
}

// rateLimited returns a ResourceExhausted status carrying RetryInfo, and
// sets the "retry-after" response header metadata (whole seconds, at least 1).
func rateLimited(ctx context.Context, wait time.Duration) error {
	secs := retryAfterSeconds(wait)
	_ = grpc.SetHeader(ctx, metadata.Pairs("retry-after", strconv.Itoa(secs)))
	st := status.New(codes.ResourceExhausted, fmt.Sprintf("rate limit exceeded; retry in %d s", secs))
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(secs) * time.Second)}); err == nil {
		st = d
	}
	return st.Err()
}

func retryAfterSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}

// maxForwardedHops bounds how much of X-Forwarded-For is looked at.
const maxForwardedHops = 16

// callerIP returns the call's client address (see Authenticator).
func callerIP(ctx context.Context, md metadata.MD) string {
	host := ""
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		host = hostOf(p.Addr.String())
	}
	return clientAddr(host, md.Get("x-forwarded-for"))
}

func hostOf(addr string) string {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.Addr().Unmap().String()
	}
	if a, err := netip.ParseAddr(addr); err == nil {
		return a.Unmap().String()
	}
	return ""
}

// clientAddr trusts forwarded (X-Forwarded-For values) only when peer is a
// loopback address: it walks the entries from the right, skipping loopback
// hops, and returns the first other valid address. An invalid entry stops
// the walk at the last trusted hop. The result is "" only when peer is
// unknown.
func clientAddr(peerHost string, forwarded []string) string {
	addr, err := netip.ParseAddr(peerHost)
	if err != nil {
		return ""
	}
	if !addr.IsLoopback() || len(forwarded) == 0 {
		return addr.String()
	}
	var hops []string
	for i := len(forwarded) - 1; i >= 0 && len(hops) < maxForwardedHops; i-- {
		v := forwarded[i]
		if len(v) > 1024 {
			break
		}
		parts := strings.Split(v, ",")
		for j := len(parts) - 1; j >= 0 && len(hops) < maxForwardedHops; j-- {
			hops = append(hops, strings.TrimSpace(parts[j]))
		}
	}
	for _, h := range hops {
		a, err := netip.ParseAddr(h)
		if err != nil {
			break
		}
		a = a.Unmap()
		if !a.IsLoopback() {
			return a.String()
		}
		addr = a
	}
	return addr.String()
}

// callerUserAgent is the gateway-forwarded User-Agent for gateway calls
// and the gRPC user-agent otherwise.
func callerUserAgent(_ context.Context, md metadata.MD) string {
	if v := md.Get("grpcgateway-user-agent"); len(v) > 0 {
		return clipText(v[0], store.MaxUserAgentLen)
	}
	if v := md.Get("user-agent"); len(v) > 0 {
		return clipText(v[0], store.MaxUserAgentLen)
	}
	return ""
}

// clipText makes untrusted text safe for the audit log: valid UTF-8, no
// control characters, at most n characters.
func clipText(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	var b strings.Builder
	i := 0
	for _, r := range s {
		if i == n {
			break
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 || r == '\uFFFD' {
			r = '?'
		}
		b.WriteRune(r)
		i++
	}
	return b.String()
}
