package safety

import (
	"math"
	"slices"
	"unicode/utf8"
)

// Chat text features, version 1. The reference is notebooks/chatfeat.py,
// which trained the chat model: both compute exactly the same features (the
// golden test checks it), so change them together.
const (
	// FeaturesVersion is the version of the text features.
	FeaturesVersion = 1
	// NumBuckets is the number of hash buckets (the model's vocabulary).
	NumBuckets = 1 << 18
	// MaxRunes is how many code points of a message are read.
	MaxRunes = 500

	nGramMin, nGramMax = 2, 4
	fnvOffset          = 0x811C9DC5
	fnvPrime           = 0x01000193
)

// TextFeatures are a message's hashed features: bucket indices in ascending
// order and their weights, whose squares sum to 1 (or none for a message
// with no token).
type TextFeatures struct {
	Indices []int64
	Values  []float32
}

// featurizer holds reusable buffers; it is not safe for concurrent use.
type featurizer struct {
	norm   []rune
	tok    []rune   // the runes of every token, one after the other
	bounds [][2]int // token i is tok[bounds[i][0]:bounds[i][1]]
	keys   []uint32
	buf    []byte
}

func isWord(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') }

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
}

var urlPrefixes = [...][]rune{[]rune("http://"), []rune("https://"), []rune("www.")}

func hasPrefixAt(s []rune, i int, p []rune) bool {
	if len(s)-i < len(p) {
		return false
	}
	for j, r := range p {
		if s[i+j] != r {
			return false
		}
	}
	return true
}

// tokenize fills f.tok and f.bounds (see notebooks/chatfeat.py for the rules).
func (f *featurizer) tokenize(text string) {
	f.norm = f.norm[:0]
	for _, r := range text {
		if len(f.norm) == MaxRunes {
			break
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		f.norm = append(f.norm, r)
	}
	f.tok, f.bounds = f.tok[:0], f.bounds[:0]
	start := 0 // start of the current word in f.tok
	flush := func() {
		if len(f.tok) > start {
			f.bounds = append(f.bounds, [2]int{start, len(f.tok)})
		}
		start = len(f.tok)
	}
	emit := func(rs ...rune) {
		flush()
		f.tok = append(f.tok, rs...)
		flush()
	}
	s := f.norm
	for i := 0; i < len(s); {
		c := s[i]
		if (c == 'h' || c == 'w') && len(f.tok) == start && isURL(s, i) {
			emit('h', 't', 't', 'p')
			for i < len(s) && !isSpace(s[i]) {
				i++
			}
			continue
		}
		if c == '@' && i+1 < len(s) && (isWord(s[i+1]) || s[i+1] == '_') {
			emit('@', 'u', 's', 'e', 'r')
			for i++; i < len(s) && (isWord(s[i]) || s[i] == '_'); i++ {
			}
			continue
		}
		switch {
		case isWord(c):
			n := len(f.tok)
			if !(n-start >= 2 && f.tok[n-1] == c && f.tok[n-2] == c) {
				f.tok = append(f.tok, c)
			}
		case c == '\'' || c == '\u2019':
		case c < 0x80:
			flush()
		default:
			emit(c)
		}
		i++
	}
	flush()
}

func isURL(s []rune, i int) bool {
	for _, p := range urlPrefixes {
		if hasPrefixAt(s, i, p) {
			return true
		}
	}
	return false
}

func fnv(tag byte, b []byte) uint32 {
	h := uint32(fnvOffset)
	h ^= uint32(tag)
	h *= fnvPrime
	for _, c := range b {
		h ^= uint32(c)
		h *= fnvPrime
	}
	return h
}

func (f *featurizer) add(tag byte, rs ...[]rune) {
	f.buf = f.buf[:0]
	for i, part := range rs {
		if i > 0 {
			f.buf = append(f.buf, ' ')
		}
		for _, r := range part {
			f.buf = utf8.AppendRune(f.buf, r)
		}
	}
	f.keys = append(f.keys, fnv(tag, f.buf)&(NumBuckets-1))
}

// features computes text's features into dst (reusing its slices).
func (f *featurizer) features(text string, dst *TextFeatures) {
	f.tokenize(text)
	f.keys = f.keys[:0]
	toks := f.bounds
	for _, b := range toks {
		f.add('w', f.tok[b[0]:b[1]])
	}
	for i := 1; i < len(toks); i++ {
		f.add('b', f.tok[toks[i-1][0]:toks[i-1][1]], f.tok[toks[i][0]:toks[i][1]])
	}
	var padded []rune
	for _, b := range toks {
		padded = append(padded[:0], ' ')
		padded = append(padded, f.tok[b[0]:b[1]]...)
		padded = append(padded, ' ')
		for n := nGramMin; n <= nGramMax; n++ {
			for i := 0; i+n <= len(padded); i++ {
				f.add('c', padded[i:i+n])
			}
		}
	}
	slices.Sort(f.keys)
	dst.Indices, dst.Values = dst.Indices[:0], dst.Values[:0]
	var vals []float64
	for i := 0; i < len(f.keys); {
		j := i + 1
		for j < len(f.keys) && f.keys[j] == f.keys[i] {
			j++
		}
		dst.Indices = append(dst.Indices, int64(f.keys[i]))
		vals = append(vals, 1+math.Log(float64(j-i)))
		i = j
	}
	var sum float64
	for _, v := range vals {
		sum += v * v
	}
	norm := math.Sqrt(sum)
	for _, v := range vals {
		dst.Values = append(dst.Values, float32(v/norm))
	}
}

// Tokens returns the normalized tokens of text, as the chat model sees them.
func Tokens(text string) []string {
	var f featurizer
	f.tokenize(text)
	out := make([]string, len(f.bounds))
	for i, b := range f.bounds {
		out[i] = string(f.tok[b[0]:b[1]])
	}
	return out
}

// Features returns text's features.
func Features(text string) TextFeatures {
	var f featurizer
	var tf TextFeatures
	f.features(text, &tf)
	return tf
}
