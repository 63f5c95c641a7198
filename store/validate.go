package store

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits of the validated fields.
const (
	MinLoginLen       = 3
	MaxLoginLen       = 25
	MaxDisplayNameLen = 50  // characters
	MaxEmailLen       = 254 // bytes (RFC 5321)
	MaxTitleLen       = 140 // characters, as Twitch
	MaxTags           = 10
	MaxTagLen         = 25 // characters
	MaxClientNameLen  = 100
	MaxClientIDLen    = 64
	MaxScopeLen       = 64
	MaxScopes         = 32
	MaxUserAgentLen   = 512
	MaxIPLen          = 64
	MaxAuditDetailLen = 1024
	MaxSecretLen      = 128
	// maxRawInput bounds what is even looked at, so a hostile megabyte is
	// rejected before normalization.
	maxRawInput = 4096
)

// NormalizeLogin returns the canonical form of a login, or a
// *ValidationError that says what is wrong. The input is NFKC-normalized and
// lower-cased (so "Alice", "ALICE" and the full-width "Ａｌｉｃｅ" all become
// "alice"), then must be 3–25 characters of a–z, 0–9 and underscore. Letters
// of other scripts, which could pass for Latin ones (Cyrillic "а"), are
// refused.
func NormalizeLogin(s string) (string, error) {
	if len(s) > maxRawInput {
		return "", invalid("login", "is too long (at most %d characters)", MaxLoginLen)
	}
	if !utf8.ValidString(s) {
		return "", invalid("login", "is not valid UTF-8")
	}
	n := strings.ToLower(norm.NFKC.String(s))
	if n == "" {
		return "", invalid("login", "is required")
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return "", invalid("login", "may contain only letters a-z, digits 0-9 and underscore; %s is not allowed", describeRune(r))
		}
	}
	if len(n) < MinLoginLen || len(n) > MaxLoginLen {
		return "", invalid("login", "must be %d to %d characters long, got %d", MinLoginLen, MaxLoginLen, len(n))
	}
	return n, nil
}

func describeRune(r rune) string {
	switch {
	case r == ' ':
		return "a space"
	case unicode.IsPrint(r):
		return fmt.Sprintf("%q (%U)", r, r)
	default:
		return fmt.Sprintf("the character %U", r)
	}
}

// NormalizeTags validates channel tags: at most 10, each 1–25 characters of
// letters and digits only (any script, as Twitch allows), NFKC-normalized.
// Duplicates that differ only in case are dropped, keeping the first.
func NormalizeTags(tags []string) ([]string, error) {
	if len(tags) > MaxTags {
		return nil, invalid("tags", "at most %d tags are allowed, got %d", MaxTags, len(tags))
	}
	out := make([]string, 0, len(tags))
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		if len(t) > maxRawInput {
			return nil, invalid("tags", "tag %d is longer than %d characters", i+1, MaxTagLen)
		}
		if !utf8.ValidString(t) {
			return nil, invalid("tags", "tag %d is not valid UTF-8", i+1)
		}
		t = norm.NFKC.String(t)
		if t == "" {
			return nil, invalid("tags", "tag %d is empty", i+1)
		}
		if n := utf8.RuneCountInString(t); n > MaxTagLen {
			return nil, invalid("tags", "tag %d is longer than %d characters (%d)", i+1, MaxTagLen, n)
		}
		for _, r := range t {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return nil, invalid("tags", "tag %d may contain only letters and digits; %s is not allowed", i+1, describeRune(r))
			}
		}
		k := strings.ToLower(t)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, t)
	}
	return out, nil
}

// ValidateText checks free text: valid UTF-8, no control characters
// (tab and newline included, unless multiline), at most maxChars characters.
// It returns the NFC-normalized text. field names the field in the error.
func ValidateText(field, s string, maxChars int, multiline bool) (string, error) {
	if len(s) > 4*maxChars {
		return "", invalid(field, "is too long (at most %d characters)", maxChars)
	}
	if !utf8.ValidString(s) {
		return "", invalid(field, "is not valid UTF-8")
	}
	s = norm.NFC.String(s)
	if n := utf8.RuneCountInString(s); n > maxChars {
		return "", invalid(field, "is too long (%d characters, at most %d)", n, maxChars)
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError {
			return "", invalid(field, "contains the control character %U", r)
		}
	}
	return s, nil
}

// ValidateEmail checks an optional e-mail address: empty, or at most 254
// bytes with one "@" and no spaces or control characters. It is not
// verified here.
func ValidateEmail(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if len(s) > MaxEmailLen {
		return "", invalid("email", "is too long (at most %d bytes)", MaxEmailLen)
	}
	s, err := ValidateText("email", s, MaxEmailLen, false)
	if err != nil {
		return "", err
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " ") {
		return "", invalid("email", "is not an e-mail address (want name@domain)")
	}
	return s, nil
}

// ValidateLanguage checks a channel language: a lower-case ISO 639-1 code of
// two letters, or "other". Empty defaults to "en".
func ValidateLanguage(s string) (string, error) {
	if s == "" {
		return "en", nil
	}
	if s == "other" {
		return s, nil
	}
	if len(s) == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z' {
		return s, nil
	}
	return "", invalid("language", "must be a two-letter lower-case ISO 639-1 code such as \"en\", or \"other\"")
}

// ValidateScope checks an API scope: 1–64 characters of a–z, 0–9, ':', '_', '.'
// and '-' (for example "channels:read").
func ValidateScope(s string) error {
	if s == "" || len(s) > MaxScopeLen {
		return invalid("scopes", "a scope must be 1 to %d characters", MaxScopeLen)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == ':' || r == '_' || r == '.' || r == '-') {
			return invalid("scopes", "scope %q may contain only a-z, 0-9, ':', '_', '.' and '-'", truncateForError(s))
		}
	}
	return nil
}

// NormalizeScopes validates scopes and returns them sorted without duplicates.
func NormalizeScopes(scopes []string) ([]string, error) {
	if len(scopes) > MaxScopes {
		return nil, invalid("scopes", "at most %d scopes, got %d", MaxScopes, len(scopes))
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if err := ValidateScope(s); err != nil {
			return nil, err
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sortStrings(out)
	return out, nil
}

// ValidateClientID checks a client id: 1–64 characters of a-z, A-Z, 0-9, '_' and '-'.
func ValidateClientID(s string) error {
	if s == "" || len(s) > MaxClientIDLen {
		return invalid("client_id", "must be 1 to %d characters", MaxClientIDLen)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return invalid("client_id", "may contain only letters, digits, '_' and '-'")
		}
	}
	return nil
}

// ValidateHash checks a SHA-256 digest.
func ValidateHash(field string, h []byte) error {
	if len(h) != 32 {
		return invalid(field, "must be a 32-byte SHA-256 digest, got %d bytes", len(h))
	}
	return nil
}

// ValidateNewUser validates and normalizes u in place.
func ValidateNewUser(u *NewUser) error {
	login, err := NormalizeLogin(u.Login)
	if err != nil {
		return err
	}
	u.Login = login
	if u.DisplayName == "" {
		u.DisplayName = login
	}
	if u.DisplayName, err = ValidateText("display_name", u.DisplayName, MaxDisplayNameLen, false); err != nil {
		return err
	}
	if u.Email, err = ValidateEmail(u.Email); err != nil {
		return err
	}
	if len(u.PasswordHash) > 512 || !utf8.ValidString(u.PasswordHash) {
		return invalid("password_hash", "is not a password hash")
	}
	roles := []Role{RoleViewer}
	for _, r := range u.Roles {
		if _, err := ParseRole(string(r)); err != nil {
			return err
		}
		roles = append(roles, r)
	}
	u.Roles = SortRoles(roles)
	return nil
}

// ValidateUserUpdate validates and normalizes u in place.
func ValidateUserUpdate(u *UserUpdate) error {
	if u.DisplayName != nil {
		s, err := ValidateText("display_name", *u.DisplayName, MaxDisplayNameLen, false)
		if err != nil {
			return err
		}
		if s == "" {
			return invalid("display_name", "must not be empty")
		}
		u.DisplayName = &s
	}
	if u.Email != nil {
		s, err := ValidateEmail(*u.Email)
		if err != nil {
			return err
		}
		u.Email = &s
	}
	return nil
}

// ValidateNewChannel validates and normalizes c in place.
func ValidateNewChannel(c *NewChannel) error {
	if c.OwnerID <= 0 {
		return invalid("owner_id", "is required")
	}
	var err error
	if c.Title, err = ValidateText("title", c.Title, MaxTitleLen, false); err != nil {
		return err
	}
	if c.Language, err = ValidateLanguage(c.Language); err != nil {
		return err
	}
	if c.Tags, err = NormalizeTags(c.Tags); err != nil {
		return err
	}
	if c.CategoryID < 0 {
		return invalid("category_id", "must not be negative")
	}
	return nil
}

// ValidateChannelUpdate validates and normalizes u in place.
func ValidateChannelUpdate(u *ChannelUpdate) error {
	if u.Title != nil {
		s, err := ValidateText("title", *u.Title, MaxTitleLen, false)
		if err != nil {
			return err
		}
		u.Title = &s
	}
	if u.Language != nil {
		s, err := ValidateLanguage(*u.Language)
		if err != nil {
			return err
		}
		u.Language = &s
	}
	if u.Tags != nil {
		t, err := NormalizeTags(*u.Tags)
		if err != nil {
			return err
		}
		u.Tags = &t
	}
	if u.CategoryID != nil && *u.CategoryID < 0 {
		return invalid("category_id", "must not be negative")
	}
	return nil
}

// ValidateNewAPIClient validates and normalizes c in place.
func ValidateNewAPIClient(c *NewAPIClient) error {
	if err := ValidateClientID(c.ClientID); err != nil {
		return err
	}
	var err error
	if c.Name, err = ValidateText("name", c.Name, MaxClientNameLen, false); err != nil {
		return err
	}
	if err := ValidateHash("secret_hash", c.SecretHash); err != nil {
		return err
	}
	if c.Scopes, err = NormalizeScopes(c.Scopes); err != nil {
		return err
	}
	return nil
}

// ValidateAccessToken validates t in place.
func ValidateAccessToken(t *AccessToken) error {
	if err := ValidateHash("token_hash", t.Hash); err != nil {
		return err
	}
	if err := ValidateClientID(t.ClientID); err != nil {
		return err
	}
	var err error
	if t.Scopes, err = NormalizeScopes(t.Scopes); err != nil {
		return err
	}
	if t.ExpiresAt.IsZero() {
		return invalid("expires_at", "is required")
	}
	return nil
}

// ValidateSession validates s in place.
func ValidateSession(s *Session) error {
	if err := ValidateHash("session_hash", s.Hash); err != nil {
		return err
	}
	if s.UserID <= 0 {
		return invalid("user_id", "is required")
	}
	if s.ExpiresAt.IsZero() {
		return invalid("expires_at", "is required")
	}
	var err error
	if s.IP, err = ValidateText("ip", s.IP, MaxIPLen, false); err != nil {
		return err
	}
	if s.UserAgent, err = ValidateText("user_agent", s.UserAgent, MaxUserAgentLen, false); err != nil {
		return err
	}
	return nil
}

// ValidateAuditEvent validates e in place.
func ValidateAuditEvent(e *AuditEvent) error {
	if e.Kind == "" || len(e.Kind) > 64 {
		return invalid("kind", "is required (at most 64 characters)")
	}
	if _, err := ValidateText("kind", string(e.Kind), 64, false); err != nil {
		return err
	}
	switch e.Outcome {
	case "":
		e.Outcome = OutcomeSuccess
	case OutcomeSuccess, OutcomeFailure, OutcomeDenied:
	default:
		return invalid("outcome", "must be success, failure or denied")
	}
	var err error
	if e.Login, err = ValidateText("login", e.Login, MaxLoginLen, false); err != nil {
		return err
	}
	if e.ClientID, err = ValidateText("client_id", e.ClientID, MaxClientIDLen, false); err != nil {
		return err
	}
	if e.IP, err = ValidateText("ip", e.IP, MaxIPLen, false); err != nil {
		return err
	}
	if e.Detail, err = ValidateText("detail", e.Detail, MaxAuditDetailLen, true); err != nil {
		return err
	}
	return nil
}

// SortRoles returns roles deduplicated in AllRoles order.
func SortRoles(roles []Role) []Role {
	out := make([]Role, 0, len(roles))
	for _, r := range allRoles {
		for _, x := range roles {
			if x == r {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// truncateForError shortens untrusted input echoed in an error message.
func truncateForError(s string) string {
	if !utf8.ValidString(s) {
		return "(invalid UTF-8)"
	}
	if utf8.RuneCountInString(s) > 32 {
		r := []rune(s)
		return string(r[:32]) + "…"
	}
	return s
}
