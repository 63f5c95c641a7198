package kafkabus

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

var casesDSN = []struct {
	name string
	dsn  string
	want []string // nil: an error naming wantErr
	err  string
}{
	{"one broker", "kafka://127.0.0.1:9092", []string{"127.0.0.1:9092"}, ""},
	{"two brokers", "kafka://h1:9092,h2:9093", []string{"h1:9092", "h2:9093"}, ""},
	{"default port", "kafka://broker", []string{"broker:9092"}, ""},
	{"upper-case scheme", "KAFKA://h:1", []string{"h:1"}, ""},
	{"trailing slash", "kafka://h:9092/", []string{"h:9092"}, ""},
	{"ipv6", "kafka://[::1]:19092,[fe80::1]", []string{"[::1]:19092", "[fe80::1]:9092"}, ""},
	{"max port", "kafka://h:65535", []string{"h:65535"}, ""},
	{"underscore host", "kafka://kafka_1:9092", []string{"kafka_1:9092"}, ""},

	{"empty", "", nil, "want kafka://"},
	{"no scheme", "h1:9092", nil, "want kafka://"},
	{"other scheme", "mem://", nil, `scheme is "mem"`},
	{"no broker", "kafka://", nil, "no broker"},
	{"stray comma", "kafka://h1:9092,", nil, "broker 2: empty"},
	{"leading comma", "kafka://,h1:9092", nil, "broker 1: empty"},
	{"empty host", "kafka://:9092", nil, "empty host"},
	{"port zero", "kafka://h:0", nil, "not a number from 1 to 65535"},
	{"port too big", "kafka://h:65536", nil, "not a number from 1 to 65535"},
	{"port not a number", "kafka://h:abc", nil, "not a number"},
	{"empty port", "kafka://h:", nil, "not a number"},
	{"signed port", "kafka://h:+9092", nil, "not a number"},
	{"leading zero port", "kafka://h:09092", nil, "not a number"},
	{"bare ipv6", "kafka://::1:9092", nil, "must be in brackets"},
	{"bad ipv6", "kafka://[zz:1]:9092", nil, "not an IPv6 address"},
	{"unclosed bracket", "kafka://[::1:9092", nil, "missing ']'"},
	{"path", "kafka://h:9092/topic", nil, `unexpected "/topic"`},
	{"query", "kafka://h:9092?tls=1", nil, `unexpected "?tls=1"`},
	{"user info", "kafka://user:pw@h:9092", nil, "unexpected"},
	{"fragment", "kafka://h#x", nil, "unexpected"},
	{"space", "kafka://h1:9092, h2:9092", nil, "space or control"},
	{"control character", "kafka://h\x00:1", nil, "space or control"},
	{"non-ascii host", "kafka://bröker:9092", nil, "cannot contain"},
	{"invalid utf-8 host", "kafka://\xf2", nil, "cannot contain"},
	{"bracket in host", "kafka://a]b:1", nil, "unexpected ']'"},
}

func TestParseDSN(t *testing.T) {
	for _, ca := range casesDSN {
		t.Run(ca.name, func(t *testing.T) {
			got, err := ParseDSN(ca.dsn)
			if ca.want != nil {
				if err != nil {
					t.Fatalf("ParseDSN(%q): %v", ca.dsn, err)
				}
				if !slices.Equal(got, ca.want) {
					t.Fatalf("ParseDSN(%q) = %q, want %q", ca.dsn, got, ca.want)
				}
				return
			}
			if !errors.Is(err, ErrInvalidDSN) || !strings.Contains(err.Error(), ca.err) {
				t.Fatalf("ParseDSN(%q) = %q, %v; want an ErrInvalidDSN error containing %q", ca.dsn, got, err, ca.err)
			}
		})
	}
}

func FuzzParseDSN(f *testing.F) {
	for _, ca := range casesDSN {
		f.Add(ca.dsn)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		brokers, err := ParseDSN(dsn)
		if err != nil {
			if !errors.Is(err, ErrInvalidDSN) || brokers != nil {
				t.Fatalf("ParseDSN(%q) = %q, %v: an error must wrap ErrInvalidDSN and return no brokers", dsn, brokers, err)
			}
			return
		}
		if len(brokers) == 0 {
			t.Fatalf("ParseDSN(%q) returned no broker and no error", dsn)
		}
		// Every broker is a valid host:port that parses back to itself, and
		// the list round-trips through a DSN.
		for _, b := range brokers {
			if again, err := parseBroker(b); err != nil || again != b {
				t.Fatalf("ParseDSN(%q): broker %q does not parse back (%q, %v)", dsn, b, again, err)
			}
		}
		again, err := ParseDSN("kafka://" + strings.Join(brokers, ","))
		if err != nil || !slices.Equal(again, brokers) {
			t.Fatalf("ParseDSN(%q) = %q does not round-trip: %q, %v", dsn, brokers, again, err)
		}
	})
}

func BenchmarkParseDSN(b *testing.B) {
	for b.Loop() {
		for _, ca := range casesDSN {
			_, _ = ParseDSN(ca.dsn)
		}
	}
}
