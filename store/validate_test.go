package store_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/store"
)

func TestNormalizeLogin(t *testing.T) {
	cases := []struct {
		in, want, errPart string
	}{
		{in: "alice", want: "alice"},
		{in: "Alice", want: "alice"},
		{in: "ALICE_99", want: "alice_99"},
		{in: "Ａｌｉｃｅ", want: "alice"}, // full-width compatibility forms
		{in: "ａｌｉｃｅ", want: "alice"},
		{in: "al", errPart: "3 to 25"},
		{in: strings.Repeat("a", 26), errPart: "3 to 25"},
		{in: "", errPart: "required"},
		{in: "аlice", errPart: "U+0430"}, // Cyrillic а
		{in: "alice bob", errPart: "a space"},
		{in: "bob'; DROP TABLE users;--", errPart: "not allowed"},
		{in: "ali\x00ce", errPart: "U+0000"},
		{in: "ali\xffce", errPart: "UTF-8"},
		{in: "émile", errPart: "U+00E9"},
		{in: strings.Repeat("a", 1<<20), errPart: "too long"},
	}
	for _, c := range cases {
		got, err := store.NormalizeLogin(c.in)
		if c.errPart != "" {
			require.Error(t, err, "input %q", c.in)
			require.ErrorIs(t, err, store.ErrInvalid)
			var ve *store.ValidationError
			require.True(t, errors.As(err, &ve))
			require.Equal(t, "login", ve.Field)
			require.Contains(t, err.Error(), c.errPart)
			continue
		}
		require.NoError(t, err, "input %q", c.in)
		require.Equal(t, c.want, got)
	}
}

func FuzzNormalizeLogin(f *testing.F) {
	for _, s := range []string{"alice", "Ａｌｉｃｅ", "аlice", "a\x00b", "\xff", "abc_DEF_123", "ﬀoo"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := store.NormalizeLogin(s)
		if err != nil {
			require.ErrorIs(t, err, store.ErrInvalid)
			return
		}
		require.GreaterOrEqual(t, len(n), 3)
		require.LessOrEqual(t, len(n), 25)
		for _, r := range n {
			require.True(t, r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_')
		}
		again, err := store.NormalizeLogin(n)
		require.NoError(t, err)
		require.Equal(t, n, again, "normalization is idempotent")
	})
}

func TestNormalizeTags(t *testing.T) {
	got, err := store.NormalizeTags([]string{"English", "speedrun", "English", "日本語", "ENGLISH", "Ｖ2"})
	require.NoError(t, err)
	require.Equal(t, []string{"English", "speedrun", "日本語", "V2"}, got)

	bad := []struct {
		tags    []string
		errPart string
	}{
		{make([]string, 11), "at most 10"},
		{[]string{strings.Repeat("x", 26)}, "longer than 25"},
		{[]string{"two words"}, "a space"},
		{[]string{"drop'--"}, "not allowed"},
		{[]string{""}, "empty"},
		{[]string{"a\xffb"}, "UTF-8"},
		{[]string{"emoji🎮"}, "not allowed"},
	}
	for _, b := range bad {
		_, err := store.NormalizeTags(b.tags)
		require.ErrorIs(t, err, store.ErrInvalid, "%q", b.tags)
		require.Contains(t, err.Error(), b.errPart)
	}
}

func FuzzNormalizeTags(f *testing.F) {
	f.Add("English", "speedrun")
	f.Add("a b", "\xff")
	f.Fuzz(func(t *testing.T, a, b string) {
		got, err := store.NormalizeTags([]string{a, b})
		if err != nil {
			require.ErrorIs(t, err, store.ErrInvalid)
			return
		}
		for _, tag := range got {
			require.True(t, utf8.ValidString(tag))
			require.LessOrEqual(t, utf8.RuneCountInString(tag), store.MaxTagLen)
		}
	})
}

func TestValidateText(t *testing.T) {
	s, err := store.ValidateText("title", "Robert'); DROP TABLE channels;--", store.MaxTitleLen, false)
	require.NoError(t, err)
	require.Equal(t, "Robert'); DROP TABLE channels;--", s)

	for _, in := range []string{"a\xffb", "nul\x00byte", "bell\a", strings.Repeat("é", 141), "line\nbreak"} {
		_, err := store.ValidateText("title", in, store.MaxTitleLen, false)
		require.ErrorIs(t, err, store.ErrInvalid, "%q", in)
		require.Contains(t, err.Error(), "invalid title")
	}
}

func TestValidateEmailAndLanguage(t *testing.T) {
	_, err := store.ValidateEmail("no-at-sign")
	require.ErrorIs(t, err, store.ErrInvalid)
	e, err := store.ValidateEmail("o'brien+x@example.com")
	require.NoError(t, err)
	require.Equal(t, "o'brien+x@example.com", e)
	l, err := store.ValidateLanguage("")
	require.NoError(t, err)
	require.Equal(t, "en", l)
	_, err = store.ValidateLanguage("EN")
	require.ErrorIs(t, err, store.ErrInvalid)
}

func TestParseRoleAndScopes(t *testing.T) {
	r, err := store.ParseRole("moderator")
	require.NoError(t, err)
	require.Equal(t, store.RoleModerator, r)
	_, err = store.ParseRole("root")
	require.ErrorIs(t, err, store.ErrInvalid)

	s, err := store.NormalizeScopes([]string{"streams:read", "channels:write", "streams:read"})
	require.NoError(t, err)
	require.Equal(t, []string{"channels:write", "streams:read"}, s)
	_, err = store.NormalizeScopes([]string{"streams read"})
	require.ErrorIs(t, err, store.ErrInvalid)
}
