package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beaconlive/beacon/auth"
)

// tokenIssuer is the slice of auth.Service the token endpoint uses.
type tokenIssuer interface {
	IssueToken(ctx context.Context, clientID, secret string, scopes []string, ip string) (auth.Token, error)
	RevokeToken(ctx context.Context, token string) error
}

// OAuth2Config configures the OAuth2 endpoints.
type OAuth2Config struct {
	// Auth issues and revokes tokens (an *auth.Service). It is required.
	Auth tokenIssuer
	// Limiter is the per-IP bucket of token requests. Share
	// AuthConfig.CredentialLimiter so sign-in and token requests draw from
	// one budget. It defaults to 1 request/s, bursts of 10.
	Limiter *auth.Limiter
	// Logger defaults to a discarding logger. Secrets are never logged.
	Logger *slog.Logger
	// Now is the clock for expires_in. It defaults to time.Now.
	Now func() time.Time
}

// OAuth2 serves the OAuth2 client-credentials grant (RFC 6749 §4.4) at
// POST /oauth2/token and token revocation (RFC 7009) at POST /oauth2/revoke.
//
// Client authentication is HTTP Basic (RFC 6749 §2.3.1, id and secret
// form-urlencoded) or client_id and client_secret in the body, not both.
// Errors are RFC 6749 §5.2 JSON bodies ({"error": "invalid_client", …});
// a rate-limited request gets 429, Retry-After and "slow_down". The client
// address is the HTTP peer, or for a loopback peer (a local reverse proxy)
// the X-Forwarded-For entry read as the Authenticator does.
type OAuth2 struct {
	cfg OAuth2Config
	log *slog.Logger
}

// NewOAuth2 returns the OAuth2 endpoints.
func NewOAuth2(cfg OAuth2Config) (*OAuth2, error) {
	if cfg.Auth == nil {
		return nil, errors.New("server: OAuth2Config.Auth is required")
	}
	if cfg.Limiter == nil {
		cfg.Limiter = auth.NewLimiter(auth.LimiterConfig{Rate: 1, Burst: 10})
	}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &OAuth2{cfg: cfg, log: cfg.Logger.With("component", "oauth2")}, nil
}

// Register mounts the endpoints on s.
func (o *OAuth2) Register(s *Server) {
	s.Handle("/oauth2/token", http.HandlerFunc(o.serveToken))
	s.Handle("/oauth2/revoke", http.HandlerFunc(o.serveRevoke))
}

// oauthError is an RFC 6749 §5.2 error response.
type oauthError struct {
	status      int
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	retryAfter  int
	basic       bool // the client tried HTTP Basic: answer WWW-Authenticate
}

func writeOAuth(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (e *oauthError) write(w http.ResponseWriter) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	if e.status == http.StatusUnauthorized && e.basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="beacon", charset="UTF-8"`)
	}
	writeOAuth(w, e.status, e)
}

func invalidRequest(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, Code: "invalid_request", Description: desc}
}

// tokenRequest is a parsed client-credentials token request.
type tokenRequest struct {
	clientID, secret string
	scopes           []string
	basic            bool
}

// maxFormBytes bounds a token request body.
const maxFormBytes = 8 << 10

// parseClientAuth reads the client credentials of an OAuth2 request: HTTP
// Basic or body parameters, not both.
func parseClientAuth(authz string, form url.Values) (id, secret string, basic bool, e *oauthError) {
	if authz != "" {
		scheme, cred, ok := strings.Cut(authz, " ")
		if !ok || !strings.EqualFold(scheme, "basic") {
			return "", "", false, &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Description: "client authentication must use HTTP Basic", basic: true}
		}
		r := &http.Request{Header: http.Header{"Authorization": {"Basic " + strings.TrimSpace(cred)}}}
		u, p, ok := r.BasicAuth()
		if !ok {
			return "", "", true, &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Description: "malformed HTTP Basic credentials", basic: true}
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(u)
		secret, err2 = url.QueryUnescape(p)
		if err1 != nil || err2 != nil {
			return "", "", true, &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Description: "malformed HTTP Basic credentials", basic: true}
		}
		if form.Has("client_id") || form.Has("client_secret") {
			return "", "", true, invalidRequest("use one client authentication method: HTTP Basic or client_id/client_secret, not both")
		}
		basic = true
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" || secret == "" {
		return "", "", basic, &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Description: "client authentication required (HTTP Basic or client_id and client_secret)", basic: basic}
	}
	return id, secret, basic, nil
}

// parseForm checks the method, content type, size and encoding of an OAuth2
// request and returns its parameters; each may appear at most once.
func parseForm(method, contentType string, body io.Reader) (url.Values, *oauthError) {
	if method != http.MethodPost {
		return nil, &oauthError{status: http.StatusMethodNotAllowed, Code: "invalid_request", Description: "use POST"}
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("the body must be application/x-www-form-urlencoded")
	}
	raw, err := io.ReadAll(io.LimitReader(body, maxFormBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &oauthError{status: http.StatusRequestEntityTooLarge, Code: "invalid_request", Description: "request body too large"}
		}
		return nil, invalidRequest("cannot read the request body")
	}
	if len(raw) > maxFormBytes {
		return nil, &oauthError{status: http.StatusRequestEntityTooLarge, Code: "invalid_request", Description: "request body too large"}
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, invalidRequest("malformed form body")
	}
	for k, vs := range form {
		if !utf8.ValidString(k) {
			return nil, invalidRequest("parameter names must be valid UTF-8")
		}
		if len(vs) > 1 {
			return nil, invalidRequest("parameter " + strconv.Quote(k) + " must not repeat")
		}
		if !utf8.ValidString(vs[0]) {
			return nil, invalidRequest("parameter " + strconv.Quote(k) + " must be valid UTF-8")
		}
	}
	return form, nil
}

// parseTokenRequest parses a client-credentials token request.
func parseTokenRequest(method, contentType, authz string, body io.Reader) (tokenRequest, *oauthError) {
	form, e := parseForm(method, contentType, body)
	if e != nil {
		return tokenRequest{}, e
	}
	switch gt := form.Get("grant_type"); gt {
	case "":
		return tokenRequest{}, invalidRequest("grant_type is required")
	case "client_credentials":
	default:
		return tokenRequest{}, &oauthError{status: http.StatusBadRequest, Code: "unsupported_grant_type", Description: "only grant_type=client_credentials is supported"}
	}
	id, secret, basic, e := parseClientAuth(authz, form)
	if e != nil {
		return tokenRequest{}, e
	}
	tr := tokenRequest{clientID: id, secret: secret, basic: basic}
	if form.Has("scope") {
		tr.scopes = strings.Fields(form.Get("scope"))
		if len(tr.scopes) == 0 {
			return tokenRequest{}, &oauthError{status: http.StatusBadRequest, Code: "invalid_scope", Description: "scope is empty"}
		}
	}
	return tr, nil
}

// remoteIP is the client address of a plain HTTP request (see OAuth2).
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return clientAddr(hostOf(host), r.Header.Values("X-Forwarded-For"))
}

func (o *OAuth2) limited(w http.ResponseWriter, r *http.Request) (string, bool) {
	ip := remoteIP(r)
	if ok, wait := o.cfg.Limiter.Reserve("ip:" + ip); !ok {
		(&oauthError{status: http.StatusTooManyRequests, Code: "slow_down", Description: "too many token requests; retry later", retryAfter: retryAfterSeconds(wait)}).write(w)
		return ip, true
	}
	return ip, false
}

func (o *OAuth2) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
	}
	ip, limited := o.limited(w, r)
	if limited {
		return
	}
	tr, e := parseTokenRequest(r.Method, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.Body)
	if e != nil {
		e.write(w)
		return
	}
	tok, err := o.cfg.Auth.IssueToken(r.Context(), tr.clientID, tr.secret, tr.scopes, ip)
	switch {
	case errors.Is(err, auth.ErrInvalidClient):
		(&oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Description: "unknown client, wrong secret or revoked client", basic: tr.basic}).write(w)
		return
	case errors.Is(err, auth.ErrInvalidScope):
		(&oauthError{status: http.StatusBadRequest, Code: "invalid_scope", Description: publicMessage(err)}).write(w)
		return
	case err != nil:
		o.log.Error("token issue failed", "error", err, "request_id", RequestID(r.Context()))
		(&oauthError{status: http.StatusInternalServerError, Code: "server_error", Description: "internal error"}).write(w)
		return
	}
	expiresIn := int64(math.Ceil(tok.ExpiresAt.Sub(o.cfg.Now()).Seconds()))
	writeOAuth(w, http.StatusOK, struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
		Scope       string `json:"scope"`
	}{tok.AccessToken, "bearer", max(expiresIn, 0), strings.Join(tok.Scopes, " ")})
}

// serveRevoke implements RFC 7009 for access tokens, with one deviation:
// possession of the token is the authorization (whoever holds a bearer
// token can already use it, and revoking is less than using), so no client
// authentication is asked. An unknown token is not an error.
func (o *OAuth2) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
	}
	_, limited := o.limited(w, r)
	if limited {
		return
	}
	form, e := parseForm(r.Method, r.Header.Get("Content-Type"), r.Body)
	if e != nil {
		e.write(w)
		return
	}
	tok := form.Get("token")
	if tok == "" {
		invalidRequest("token is required").write(w)
		return
	}
	if hint := form.Get("token_type_hint"); hint != "" && hint != "access_token" {
		(&oauthError{status: http.StatusBadRequest, Code: "unsupported_token_type", Description: "only access tokens can be revoked"}).write(w)
		return
	}
	if err := o.cfg.Auth.RevokeToken(r.Context(), tok); err != nil {
		o.log.Error("token revoke failed", "error", err, "request_id", RequestID(r.Context()))
		(&oauthError{status: http.StatusInternalServerError, Code: "server_error", Description: "internal error"}).write(w)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
