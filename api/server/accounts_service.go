package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	apiv1 "github.com/beaconlive/beacon/api/gen/beacon/api/v1"
	"github.com/beaconlive/beacon/api/page"
	"github.com/beaconlive/beacon/auth"
	"github.com/beaconlive/beacon/store"
)

// accountAuth is the slice of auth.Service the account APIs use.
type accountAuth interface {
	SignUp(ctx context.Context, r auth.SignUpRequest) (store.User, error)
	Login(ctx context.Context, r auth.LoginRequest) (auth.LoginResult, error)
	LoginTOTP(ctx context.Context, challenge, code, ip, ua string) (auth.LoginResult, error)
	Logout(ctx context.Context, session, ip string) error
	BeginTOTP(ctx context.Context, id store.UserID) (auth.TOTPEnrollment, error)
	ConfirmTOTP(ctx context.Context, id store.UserID, code string) ([]string, error)
	DisableTOTP(ctx context.Context, id store.UserID, code string) error
	CreateChannel(ctx context.Context, actor store.UserID, c store.NewChannel) (store.Channel, string, error)
	RotateStreamKey(ctx context.Context, actor store.UserID, ch store.ChannelID) (string, error)
	GrantRole(ctx context.Context, actor, id store.UserID, r store.Role) error
	RevokeRole(ctx context.Context, actor, id store.UserID, r store.Role) error
	CreateAPIClient(ctx context.Context, actor store.UserID, name string, scopes []string) (auth.ClientCredentials, error)
	RevokeAPIClient(ctx context.Context, actor store.UserID, clientID string) error
}

// accountStore is the slice of the store the account APIs read and write
// directly (everything security-relevant goes through accountAuth).
type accountStore interface {
	UserByID(ctx context.Context, id store.UserID) (store.User, error)
	CategoryByID(ctx context.Context, id store.CategoryID) (store.Category, error)
	ChannelByID(ctx context.Context, id store.ChannelID) (store.Channel, error)
	ChannelByOwner(ctx context.Context, owner store.UserID) (store.Channel, error)
	UpdateChannel(ctx context.Context, id store.ChannelID, u store.ChannelUpdate) (store.Channel, error)
	Follow(ctx context.Context, u store.UserID, ch store.ChannelID) error
	Unfollow(ctx context.Context, u store.UserID, ch store.ChannelID) error
	FollowsOf(ctx context.Context, u store.UserID, p store.Page) ([]store.Follow, error)
	AuditEvents(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error)
}

// AccountsConfig configures an AccountsService.
type AccountsConfig struct {
	// Auth is the security layer (an *auth.Service). It is required.
	Auth accountAuth
	// Store is the state store. It is required.
	Store accountStore
	// Logger defaults to a discarding logger. Secrets are never logged.
	Logger *slog.Logger
	// PageKey authenticates page tokens. It defaults to 32 random bytes, so
	// tokens do not survive a restart (or reach another replica).
	PageKey []byte
	// OnChannelChanged, if set, is told of every channel a streamer created
	// or changed, after the store has it (cmd publishes the metadata on the
	// bus so the directory follows). An error fails the call with
	// UNAVAILABLE; the change is stored, and repeating it is harmless.
	OnChannelChanged func(ctx context.Context, ch store.Channel) error
}

// AccountsService implements AccountsService and AdminService. Who may call
// what is decided by the Authenticator's table; the handlers read the
// principal it resolved.
type AccountsService struct {
	apiv1.UnimplementedAccountsServiceServer
	apiv1.UnimplementedAdminServiceServer
	auth    accountAuth
	st      accountStore
	log     *slog.Logger
	pageKey []byte
	changed func(ctx context.Context, ch store.Channel) error
}

// NewAccountsService returns the account and admin APIs.
func NewAccountsService(cfg AccountsConfig) (*AccountsService, error) {
	if cfg.Auth == nil || cfg.Store == nil {
		return nil, errors.New("server: AccountsConfig.Auth and Store are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	if len(cfg.PageKey) == 0 {
		cfg.PageKey = make([]byte, 32)
		_, _ = rand.Read(cfg.PageKey)
	}
	return &AccountsService{auth: cfg.Auth, st: cfg.Store, log: cfg.Logger.With("component", "accounts_api"), pageKey: cfg.PageKey, changed: cfg.OnChannelChanged}, nil
}

// Register adds the account and admin services to s.
func (a *AccountsService) Register(s *Server) {
	apiv1.RegisterAccountsServiceServer(s.GRPC(), a)
	apiv1.RegisterAdminServiceServer(s.GRPC(), a)
	s.RegisterGateway(apiv1.RegisterAccountsServiceHandler)
	s.RegisterGateway(apiv1.RegisterAdminServiceHandler)
}

// accountError maps store and auth errors to statuses (see auth/errors.go):
// validation 400 naming the field, 401, 403, 404, 409, 429. what names the
// object of a not-found or duplicate error.
func accountError(ctx context.Context, err error, what string) error {
	var ve *store.ValidationError
	var locked *auth.LockedError
	switch {
	case errors.As(err, &ve):
		st := status.New(codes.InvalidArgument, fmt.Sprintf("invalid %s: %s", ve.Field, ve.Reason))
		if d, derr := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: ve.Field, Description: ve.Reason}}}); derr == nil {
			st = d
		}
		return st.Err()
	case errors.As(err, &locked):
		return rateLimitedUntil(ctx, locked)
	case errors.Is(err, store.ErrNotFound):
		return status.Error(codes.NotFound, what+" not found")
	case errors.Is(err, store.ErrDuplicate):
		return status.Error(codes.AlreadyExists, what+" already exists")
	case errors.Is(err, store.ErrConflict), errors.Is(err, auth.ErrTOTPNotEnabled):
		// Aborted is the gRPC code the gateway maps to 409 Conflict.
		return status.Error(codes.Aborted, publicMessage(err))
	case errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrInvalidTOTP),
		errors.Is(err, auth.ErrTOTPReplayed), errors.Is(err, auth.ErrUnauthenticated),
		errors.Is(err, auth.ErrTokenExpired), errors.Is(err, auth.ErrTokenRevoked):
		return status.Error(codes.Unauthenticated, publicMessage(err))
	case errors.Is(err, auth.ErrAccountDisabled), errors.Is(err, auth.ErrForbidden), errors.Is(err, auth.ErrInsufficientScope):
		return status.Error(codes.PermissionDenied, publicMessage(err))
	case errors.Is(err, auth.ErrInvalidScope):
		return status.Error(codes.InvalidArgument, publicMessage(err))
	case errors.Is(err, auth.ErrRateLimited):
		return status.Error(codes.ResourceExhausted, publicMessage(err))
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "request timed out")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request cancelled")
	}
	// The chassis logs it and answers "internal error".
	return status.Error(codes.Internal, err.Error())
}

// publicMessage strips the package prefixes of an error message meant for
// callers ("auth: invalid login or password" → "invalid login or password").
func publicMessage(err error) string {
	msg := err.Error()
	for _, p := range []string{"auth: ", "store: "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return msg
}

func rateLimitedUntil(ctx context.Context, l *auth.LockedError) error {
	wait := time.Until(l.Until)
	secs := retryAfterSeconds(wait)
	_ = grpc.SetHeader(ctx, metadata.Pairs("retry-after", strconv.Itoa(secs)))
	st := status.New(codes.ResourceExhausted, publicMessage(l))
	return st.Err()
}

func invalidField(field, reason string) error {
	return accountError(context.Background(), &store.ValidationError{Field: field, Reason: reason}, "")
}

// currentUser returns the calling user (the table admits only users to the
// methods that call it).
func currentUser(ctx context.Context) (auth.Principal, error) {
	p, ok := PrincipalFrom(ctx)
	if !ok || p.Kind != auth.PrincipalUser || p.UserID <= 0 {
		return auth.Principal{}, status.Error(codes.Unauthenticated, "a signed-in user is required")
	}
	return p, nil
}

func toUser(u store.User) *apiv1.User {
	roles := make([]string, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = string(r)
	}
	out := &apiv1.User{Id: int64(u.ID), Login: u.Login, DisplayName: u.DisplayName, Email: u.Email, Roles: roles, TotpEnabled: u.TOTPEnabled}
	if !u.CreatedAt.IsZero() {
		out.CreatedAt = timestamppb.New(u.CreatedAt)
	}
	return out
}

func toChannel(c store.Channel) *apiv1.Channel {
	out := &apiv1.Channel{Id: int64(c.ID), Name: c.Name, Title: c.Title, CategoryId: int64(c.CategoryID), Language: c.Language, Tags: append([]string{}, c.Tags...), Mature: c.Mature}
	if !c.CreatedAt.IsZero() {
		out.CreatedAt = timestamppb.New(c.CreatedAt)
	}
	if !c.UpdatedAt.IsZero() {
		out.UpdatedAt = timestamppb.New(c.UpdatedAt)
	}
	return out
}

// setSessionCookie sets the session cookie as "set-cookie" response
// metadata (the gateway turns it into a Set-Cookie header once the chassis
// forwards that key).
func setSessionCookie(ctx context.Context, value string, expires time.Time) {
	_ = grpc.SetHeader(ctx, metadata.Pairs("set-cookie", auth.SessionCookie(value, expires).String()))
}

// SignUp implements AccountsService.
func (a *AccountsService) SignUp(ctx context.Context, req *apiv1.SignUpRequest) (*apiv1.SignUpResponse, error) {
	u, err := a.auth.SignUp(ctx, auth.SignUpRequest{Login: req.GetLogin(), Password: req.GetPassword(), DisplayName: req.GetDisplayName(), Email: req.GetEmail(), IP: ClientIP(ctx)})
	if err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return nil, status.Error(codes.AlreadyExists, "login already taken")
		}
		return nil, accountError(ctx, err, "account")
	}
	return &apiv1.SignUpResponse{User: toUser(u)}, nil
}

func (a *AccountsService) loginResponse(ctx context.Context, r auth.LoginResult) *apiv1.LoginResponse {
	out := &apiv1.LoginResponse{User: toUser(r.User), MfaRequired: r.MFARequired, Challenge: r.Challenge}
	if !r.ExpiresAt.IsZero() {
		out.ExpiresAt = timestamppb.New(r.ExpiresAt)
	}
	if r.Session != "" {
		out.SessionId = r.Session
		setSessionCookie(ctx, r.Session, r.ExpiresAt)
	}
	return out
}

// Login implements AccountsService.
func (a *AccountsService) Login(ctx context.Context, req *apiv1.LoginRequest) (*apiv1.LoginResponse, error) {
	c := callerFrom(ctx)
	r, err := a.auth.Login(ctx, auth.LoginRequest{Login: req.GetLogin(), Password: req.GetPassword(), IP: c.ip, UserAgent: c.userAgent})
	if err != nil {
		return nil, accountError(ctx, err, "account")
	}
	return a.loginResponse(ctx, r), nil
}

// LoginTOTP implements AccountsService.
func (a *AccountsService) LoginTOTP(ctx context.Context, req *apiv1.LoginTOTPRequest) (*apiv1.LoginResponse, error) {
	if req.GetChallenge() == "" {
		return nil, invalidField("challenge", "is required (the challenge Login returned)")
	}
	if req.GetCode() == "" {
		return nil, invalidField("code", "is required")
	}
	c := callerFrom(ctx)
	r, err := a.auth.LoginTOTP(ctx, req.GetChallenge(), req.GetCode(), c.ip, c.userAgent)
	if err != nil {
		if errors.Is(err, auth.ErrUnauthenticated) {
			return nil, status.Error(codes.Unauthenticated, "unknown or expired login challenge; log in again")
		}
		return nil, accountError(ctx, err, "account")
	}
	return a.loginResponse(ctx, r), nil
}

// Logout implements AccountsService.
func (a *AccountsService) Logout(ctx context.Context, _ *apiv1.LogoutRequest) (*apiv1.LogoutResponse, error) {
	c := callerFrom(ctx)
	if c.session == "" {
		return nil, status.Error(codes.FailedPrecondition, "log out needs the session cookie (access tokens are revoked at POST /oauth2/revoke)")
	}
	if err := a.auth.Logout(ctx, c.session, c.ip); err != nil {
		return nil, accountError(ctx, err, "session")
	}
	setSessionCookie(ctx, "", time.Unix(0, 0))
	return &apiv1.LogoutResponse{}, nil
}

// GetMe implements AccountsService.
func (a *AccountsService) GetMe(ctx context.Context, _ *apiv1.GetMeRequest) (*apiv1.GetMeResponse, error) {
	p, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	u, err := a.st.UserByID(ctx, p.UserID)
	if err != nil {
		return nil, accountError(ctx, err, "user")
	}
	return &apiv1.GetMeResponse{User: toUser(u)}, nil
}

// BeginTOTP implements AccountsService.
func (a *AccountsService) BeginTOTP(ctx context.Context, _ *apiv1.BeginTOTPRequest) (*apiv1.BeginTOTPResponse, error) {
	p, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	e, err := a.auth.BeginTOTP(ctx, p.UserID)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, status.Error(codes.Aborted, "two-factor authentication is already enabled; disable it first")
		}
		return nil, accountError(ctx, err, "user")
	}
	return &apiv1.BeginTOTPResponse{Secret: e.Secret, OtpauthUrl: e.URL}, nil
}

// ConfirmTOTP implements AccountsService.
func (a *AccountsService) ConfirmTOTP(ctx context.Context, req *apiv1.ConfirmTOTPRequest) (*apiv1.ConfirmTOTPResponse, error) {
	p, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetCode() == "" {
		return nil, invalidField("code", "is required (the 6-digit code your authenticator app shows)")
	}
	codes_, err := a.auth.ConfirmTOTP(ctx, p.UserID, req.GetCode())
	if err != nil {
		if errors.Is(err, auth.ErrTOTPNotEnabled) {
			return nil, status.Error(codes.Aborted, "no two-factor enrolment in progress; call POST /v1/me/totp first")
		}
		if errors.Is(err, auth.ErrInvalidTOTP) {
			// The session is fine; the code is not: 400, not 401.
			return nil, invalidField("code", publicMessage(err))
		}
		return nil, accountError(ctx, err, "user")
	}
	return &apiv1.ConfirmTOTPResponse{RecoveryCodes: codes_}, nil
}

// DisableTOTP implements AccountsService.
func (a *AccountsService) DisableTOTP(ctx context.Context, req *apiv1.DisableTOTPRequest) (*apiv1.DisableTOTPResponse, error) {
	p, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetCode() == "" {
		return nil, invalidField("code", "is required (a current code or a recovery code)")
	}
	if err := a.auth.DisableTOTP(ctx, p.UserID, req.GetCode()); err != nil {
		if errors.Is(err, auth.ErrInvalidTOTP) || errors.Is(err, auth.ErrTOTPReplayed) {
			// The session is fine; the code is not: 400, not 401.
			return nil, invalidField("code", publicMessage(err))
		}
		return nil, accountError(ctx, err, "user")
	}
	return &apiv1.DisableTOTPResponse{}, nil
}

// checkCategory refuses an unknown category id as a field error.
func (a *AccountsService) checkCategory(ctx context.Context, id int64) error {
	if id == 0 {
		return nil
	}
	if id < 0 {
		return invalidField("category_id", "must not be negative")
	}
	if _, err := a.st.CategoryByID(ctx, store.CategoryID(id)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return invalidField("category_id", fmt.Sprintf("no category has id %d (see GET /v1/search/categories)", id))
		}
		return accountError(ctx, err, "category")
	}
	return nil
}

// CreateMyChannel implements AccountsService.
func (a *AccountsService) CreateMyChannel(ctx context.Context, req *apiv1.CreateMyChannelRequest) (*apiv1.CreateMyChannelResponse, error) {
	p, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	nc := store.NewChannel{OwnerID: p.UserID, Title: req.GetTitle(), CategoryID: store.CategoryID(req.GetCategoryId()), Language: req.GetLanguage(), Tags: req.GetTags(), Mature: req.GetMature()}
	// Validate everything before anything is written.
	if err := store.ValidateNewChannel(&nc); err != nil {
		return nil, accountError(ctx, err, "channel")
	}
	if err := a.checkCategory(ctx, req.GetCategoryId()); err != nil {
		return nil, err
	}
	ch, key, err := a.auth.CreateChannel(ctx, p.UserID, nc)
	if err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return nil, status.Error(codes.AlreadyExists, "you already have a channel")
		}
		return nil, accountError(ctx, err, "channel")
	}
	// The key is shown once: never fail the call after creating it. The
	// metadata is published again when the channel goes live.
	_ = a.notifyChanged(ctx, ch)
	return &apiv1.CreateMyChannelResponse{Channel: toChannel(ch), StreamKey: key}, nil
}

func (a *AccountsService) myChannel(ctx context.Context, p auth.Principal) (store.Channel, error) {
	ch, err := a.st.ChannelByOwner(ctx, p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Channel{}, status.Error(codes.NotFound, "you have no channel; create one with POST /v1/me/channel")
	}
	if err != nil {
		return store.Channel{}, accountError(ctx, err, "channel")
	}
	return ch, nil
}

// GetMyChannel implements AccountsService.
func (a *AccountsService) GetMyChannel(ctx context.Context, _ *apiv1.GetMyChannelRequest) (*apiv1.Channel, error) {
	p, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	ch, err := a.myChannel(ctx, p)
	if err != nil {
		return nil, err
	}
	return toChannel(ch), nil
}

// UpdateMyChannel implements AccountsService.
func (a *AccountsService) UpdateMyChannel(ctx context.Context, req *apiv1.UpdateMyChannelRequest) (*apiv1.Channel, error) {
	p, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, invalidField("update_mask", "names no field; list the fields to change (title, category_id, language, tags, mature)")
	}
	in := req.GetChannel()
	var u store.ChannelUpdate
	for _, path := range paths {
		switch path {
		case "title":
			u.Title = ptr(in.GetTitle())
		case "category_id":
			if err := a.checkCategory(ctx, in.GetCategoryId()); err != nil {
				return nil, err
			}
			u.CategoryID = ptr(store.CategoryID(in.GetCategoryId()))
		case "language":
			u.Language = ptr(in.GetLanguage())
		case "tags":
			u.Tags = ptr(append([]string{}, in.GetTags()...))
		case "mature":
			u.Mature = ptr(in.GetMature())
		default:
			return nil, invalidField("update_mask", fmt.Sprintf("%q cannot be changed (only title, category_id, language, tags, mature)", clipText(path, 64)))
		}
	}
	if err := store.ValidateChannelUpdate(&u); err != nil {
		return nil, accountError(ctx, err, "channel")
	}
	ch, err := a.myChannel(ctx, p)
	if err != nil {
		return nil, err
	}
	ch, err = a.st.UpdateChannel(ctx, ch.ID, u)
	if err != nil {
		return nil, accountError(ctx, err, "channel")
	}
	a.log.Info("channel updated", "channel_id", int64(ch.ID), "user_id", int64(p.UserID), "fields", strings.Join(paths, ","))
	if err := a.notifyChanged(ctx, ch); err != nil {
		return nil, err
	}
	return toChannel(ch), nil
}

func ptr[T any](v T) *T { return &v }

func (a *AccountsService) notifyChanged(ctx context.Context, ch store.Channel) error {
	if a.changed == nil {
		return nil
	}
	if err := a.changed(ctx, ch); err != nil {
		a.log.Error("publishing a channel change failed", "channel_id", int64(ch.ID), "error", err)
		return status.Error(codes.Unavailable, "the change is saved but the directory could not be told; send it again")
	}
	return nil
}

// RotateStreamKey implements AccountsService.
func (a *AccountsService) RotateStreamKey(ctx context.Context, _ *apiv1.RotateStreamKeyRequest) (*apiv1.RotateStreamKeyResponse, error) {
	p, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	ch, err := a.myChannel(ctx, p)
	if err != nil {
		return nil, err
	}
	key, err := a.auth.RotateStreamKey(ctx, p.UserID, ch.ID)
	if err != nil {
		return nil, accountError(ctx, err, "channel")
	}
	return &apiv1.RotateStreamKeyResponse{StreamKey: key}, nil
}

func channelIDOf(id int64) (store.ChannelID, error) {
	if id <= 0 {
		return 0, invalidField("channel_id", "must be a positive channel id")
	}
	return store.ChannelID(id), nil
}

// FollowChannel implements AccountsService.
func (a *AccountsService) FollowChannel(ctx context.Context, req *apiv1.FollowChannelRequest) (*apiv1.FollowChannelResponse, error) {
	p, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	id, err := channelIDOf(req.GetChannelId())
	if err != nil {
		return nil, err
	}
	if err := a.st.Follow(ctx, p.UserID, id); err != nil {
		return nil, accountError(ctx, err, "channel")
	}
	return &apiv1.FollowChannelResponse{}, nil
}

// UnfollowChannel implements AccountsService.
func (a *AccountsService) UnfollowChannel(ctx context.Context, req *apiv1.UnfollowChannelRequest) (*apiv1.UnfollowChannelResponse, error) {
	p, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	id, err := channelIDOf(req.GetChannelId())
	if err != nil {
		return nil, err
	}
	if err := a.st.Unfollow(ctx, p.UserID, id); err != nil {
		return nil, accountError(ctx, err, "channel")
	}
	return &apiv1.UnfollowChannelResponse{}, nil
}

func pageError(err error) error {
	if errors.Is(err, page.ErrInvalidSize) {
		return invalidField("page_size", "must not be negative")
	}
	return invalidField("page_token", "is not a token this server issued for this listing")
}

// followsCursor is the ListMyFollows page token content.
type followsCursor struct {
	After int64 `json:"a"`
}

// ListMyFollows implements AccountsService.
func (a *AccountsService) ListMyFollows(ctx context.Context, req *apiv1.ListMyFollowsRequest) (*apiv1.ListMyFollowsResponse, error) {
	p, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	size, err := page.Size(req.GetPageSize())
	if err != nil {
		return nil, pageError(err)
	}
	codec := page.Codec{Key: a.pageKey, Scope: "ListMyFollows/" + strconv.FormatInt(int64(p.UserID), 10)}
	var cur followsCursor
	if _, err := codec.Decode(req.GetPageToken(), &cur); err != nil {
		return nil, pageError(err)
	}
	fs, err := a.st.FollowsOf(ctx, p.UserID, store.Page{AfterID: cur.After, Limit: size + 1})
	if err != nil {
		return nil, accountError(ctx, err, "follows")
	}
	out := &apiv1.ListMyFollowsResponse{}
	if len(fs) > size {
		fs = fs[:size]
		if out.NextPageToken, err = codec.Encode(followsCursor{After: int64(fs[len(fs)-1].ChannelID)}); err != nil {
			return nil, accountError(ctx, err, "follows")
		}
	}
	for _, f := range fs {
		fc := &apiv1.FollowedChannel{ChannelId: int64(f.ChannelID), FollowedAt: timestamppb.New(f.CreatedAt)}
		if ch, err := a.st.ChannelByID(ctx, f.ChannelID); err == nil {
			fc.Name, fc.Title = ch.Name, ch.Title
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, accountError(ctx, err, "channel")
		}
		out.Follows = append(out.Follows, fc)
	}
	return out, nil
}

// admin returns the calling administrator's id; it is never 0, which the
// auth layer would take for the system and exempt from its own admin check.
func admin(ctx context.Context) (store.UserID, error) {
	p, err := currentUser(ctx)
	if err != nil {
		return 0, err
	}
	return p.UserID, nil
}

func (a *AccountsService) rolesOf(ctx context.Context, id store.UserID) ([]string, error) {
	u, err := a.st.UserByID(ctx, id)
	if err != nil {
		return nil, accountError(ctx, err, "user")
	}
	return toUser(u).Roles, nil
}

func roleRequest(userID int64, role string) (store.UserID, store.Role, error) {
	if userID <= 0 {
		return 0, "", invalidField("user_id", "must be a positive user id")
	}
	r, err := store.ParseRole(role)
	if err != nil {
		return 0, "", accountError(context.Background(), err, "role")
	}
	return store.UserID(userID), r, nil
}

// GrantRole implements AdminService.
func (a *AccountsService) GrantRole(ctx context.Context, req *apiv1.GrantRoleRequest) (*apiv1.GrantRoleResponse, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	id, r, err := roleRequest(req.GetUserId(), req.GetRole())
	if err != nil {
		return nil, err
	}
	if _, err := a.st.UserByID(ctx, id); err != nil {
		return nil, accountError(ctx, err, "user")
	}
	if err := a.auth.GrantRole(ctx, actor, id, r); err != nil {
		return nil, accountError(ctx, err, "user")
	}
	roles, err := a.rolesOf(ctx, id)
	if err != nil {
		return nil, err
	}
	return &apiv1.GrantRoleResponse{Roles: roles}, nil
}

// RevokeRole implements AdminService.
func (a *AccountsService) RevokeRole(ctx context.Context, req *apiv1.RevokeRoleRequest) (*apiv1.RevokeRoleResponse, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	id, r, err := roleRequest(req.GetUserId(), req.GetRole())
	if err != nil {
		return nil, err
	}
	if r == store.RoleViewer {
		return nil, invalidField("role", "every user holds viewer; disable the account instead")
	}
	if r == store.RoleAdmin && id == actor {
		return nil, status.Error(codes.FailedPrecondition, "an administrator cannot revoke their own admin role")
	}
	if _, err := a.st.UserByID(ctx, id); err != nil {
		return nil, accountError(ctx, err, "user")
	}
	if err := a.auth.RevokeRole(ctx, actor, id, r); err != nil {
		return nil, accountError(ctx, err, "user")
	}
	roles, err := a.rolesOf(ctx, id)
	if err != nil {
		return nil, err
	}
	return &apiv1.RevokeRoleResponse{Roles: roles}, nil
}

// CreateAPIClient implements AdminService.
func (a *AccountsService) CreateAPIClient(ctx context.Context, req *apiv1.CreateAPIClientRequest) (*apiv1.CreateAPIClientResponse, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.GetName()) == "" {
		return nil, invalidField("name", "is required")
	}
	if len(req.GetScopes()) == 0 {
		return nil, invalidField("scopes", "at least one scope is required")
	}
	if _, err := store.NormalizeScopes(req.GetScopes()); err != nil {
		return nil, accountError(ctx, err, "client")
	}
	if _, err := store.ValidateText("name", req.GetName(), store.MaxClientNameLen, false); err != nil {
		return nil, accountError(ctx, err, "client")
	}
	c, err := a.auth.CreateAPIClient(ctx, actor, req.GetName(), req.GetScopes())
	if err != nil {
		return nil, accountError(ctx, err, "client")
	}
	return &apiv1.CreateAPIClientResponse{ClientId: c.ClientID, ClientSecret: c.Secret, Scopes: slices.Clone(c.Scopes)}, nil
}

// RevokeAPIClient implements AdminService.
func (a *AccountsService) RevokeAPIClient(ctx context.Context, req *apiv1.RevokeAPIClientRequest) (*apiv1.RevokeAPIClientResponse, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	if err := store.ValidateClientID(req.GetClientId()); err != nil {
		return nil, accountError(ctx, err, "client")
	}
	if err := a.auth.RevokeAPIClient(ctx, actor, req.GetClientId()); err != nil {
		return nil, accountError(ctx, err, "client")
	}
	return &apiv1.RevokeAPIClientResponse{}, nil
}

// auditCursor is the ListAuditEvents page token content.
type auditCursor struct {
	Before int64 `json:"b"`
}

// ListAuditEvents implements AdminService.
func (a *AccountsService) ListAuditEvents(ctx context.Context, req *apiv1.ListAuditEventsRequest) (*apiv1.ListAuditEventsResponse, error) {
	size, err := page.Size(req.GetPageSize())
	if err != nil {
		return nil, pageError(err)
	}
	kind := req.GetKind()
	if len(kind) > 64 || strings.ContainsFunc(kind, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r == '_') }) {
		return nil, invalidField("kind", "must be an audit event kind such as login_failed or access_denied")
	}
	if req.GetUserId() < 0 {
		return nil, invalidField("user_id", "must not be negative")
	}
	codec := page.Codec{Key: a.pageKey, Scope: fmt.Sprintf("ListAuditEvents/%s/%d", kind, req.GetUserId())}
	var cur auditCursor
	if _, err := codec.Decode(req.GetPageToken(), &cur); err != nil {
		return nil, pageError(err)
	}
	evs, err := a.st.AuditEvents(ctx, store.AuditFilter{Kind: store.AuditKind(kind), UserID: store.UserID(req.GetUserId()), BeforeID: cur.Before, Limit: size + 1})
	if err != nil {
		return nil, accountError(ctx, err, "audit events")
	}
	out := &apiv1.ListAuditEventsResponse{}
	if len(evs) > size {
		evs = evs[:size]
		if out.NextPageToken, err = codec.Encode(auditCursor{Before: evs[len(evs)-1].ID}); err != nil {
			return nil, accountError(ctx, err, "audit events")
		}
	}
	for _, e := range evs {
		out.Events = append(out.Events, &apiv1.AuditEvent{
			Id: e.ID, Time: timestamppb.New(e.Time), Kind: string(e.Kind), Outcome: e.Outcome,
			ActorId: int64(e.ActorID), SubjectId: int64(e.SubjectID), Login: e.Login, ChannelId: int64(e.ChannelID),
			ClientId: e.ClientID, Ip: e.IP, Detail: e.Detail,
		})
	}
	return out, nil
}
