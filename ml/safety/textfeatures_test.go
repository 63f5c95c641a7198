package safety

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

var tokenCases = []struct {
	name string
	text string
	want []string
}{
	{"empty", "", []string{}},
	{"case and punctuation", "Hello World!! PogChamp", []string{"hello", "world", "pogchamp"}},
	{"elongation", "loooool GOOOOO", []string{"lool", "goo"}},
	{"apostrophes", "don't it’s", []string{"dont", "its"}},
	{"mention", "@Ninja_99 hi @ a@b", []string{"@user", "hi", "a", "@user"}},
	{"url", "see https://x.co/a?b now www.beacon.tv", []string{"see", "http", "now", "http"}},
	{"url inside a word is not one", "xhttp://a", []string{"xhttp", "a"}},
	{"emoji and accents", "gg😂😂 café", []string{"gg", "😂", "😂", "caf", "é"}},
	{"digits", "1v1 me 3.14", []string{"1v1", "me", "3", "14"}},
	{"whitespace", "a\tb\nc\r\nd", []string{"a", "b", "c", "d"}},
}

func TestTokens(t *testing.T) {
	for _, ca := range tokenCases {
		t.Run(ca.name, func(t *testing.T) {
			got := Tokens(ca.text)
			require.Equal(t, ca.want, got)
		})
	}
}

func TestTokensReadsMaxRunes(t *testing.T) {
	long := strings.Repeat("ab ", 1000)
	require.Len(t, Tokens(long), (MaxRunes+2)/3)
}

func TestFeaturesNormalized(t *testing.T) {
	for _, ca := range tokenCases {
		f := Features(ca.text)
		require.Len(t, f.Values, len(f.Indices))
		var sum float64
		for i, v := range f.Values {
			sum += float64(v) * float64(v)
			require.True(t, f.Indices[i] >= 0 && f.Indices[i] < NumBuckets)
			if i > 0 {
				require.Less(t, f.Indices[i-1], f.Indices[i], "indices are sorted and unique")
			}
		}
		if len(f.Values) > 0 {
			require.InDelta(t, 1, sum, 1e-5, ca.name)
		}
	}
}

func TestFNV(t *testing.T) {
	// 32-bit FNV-1a of "a" is 0xe40c292c; here the tag byte comes first.
	require.Equal(t, uint32(0xe40c292c), fnv('a', nil))
}

func FuzzFeatures(f *testing.F) {
	for _, ca := range tokenCases {
		f.Add(ca.text)
	}
	f.Add(string([]byte{0xff, 0xfe, 'a'}))
	f.Fuzz(func(t *testing.T, text string) {
		tf := Features(text)
		if len(tf.Indices) != len(tf.Values) {
			t.Fatal("lengths differ")
		}
		for _, v := range tf.Values {
			if math.IsNaN(float64(v)) || v <= 0 || v > 1 {
				t.Fatalf("bad value %v", v)
			}
		}
		for _, tok := range Tokens(text) {
			if tok == "" || !utf8.ValidString(tok) && utf8.ValidString(text) {
				t.Fatalf("bad token %q", tok)
			}
		}
	})
}
