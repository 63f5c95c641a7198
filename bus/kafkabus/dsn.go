package kafkabus

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DefaultPort is the broker port ParseDSN assumes when a host has none.
const DefaultPort = "9092"

// ErrInvalidDSN is wrapped by every error ParseDSN returns.
var ErrInvalidDSN = errors.New("kafkabus: invalid DSN")

// ParseDSN parses a bus DSN of the form
//
//	kafka://host1:9092,host2:9092
//
// into the list of bootstrap brokers ("host1:9092", "host2:9092"). The scheme
// is case-insensitive; a host without a port gets DefaultPort; IPv6 hosts are
// written in brackets ("kafka://[::1]:9092"). User info, paths, queries and
// fragments are rejected rather than silently ignored.
func ParseDSN(dsn string) ([]string, error) {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return nil, fmt.Errorf("%w %q: want kafka://host:port[,host:port...]", ErrInvalidDSN, dsn)
	}
	if !strings.EqualFold(scheme, "kafka") {
		return nil, fmt.Errorf("%w %q: scheme is %q, want kafka", ErrInvalidDSN, dsn, scheme)
	}
	// A single trailing slash is harmless ("kafka://h:9092/"); anything else
	// after the host list would be ignored, so it is an error.
	rest = strings.TrimSuffix(rest, "/")
	if i := strings.IndexAny(rest, "/?#@"); i >= 0 {
		return nil, fmt.Errorf("%w %q: unexpected %q after the broker list (no user, path, query or fragment is supported)", ErrInvalidDSN, dsn, rest[i:])
	}
	if rest == "" {
		return nil, fmt.Errorf("%w %q: no broker", ErrInvalidDSN, dsn)
	}
	var brokers []string
	for i, hp := range strings.Split(rest, ",") {
		b, err := parseBroker(hp)
		if err != nil {
			return nil, fmt.Errorf("%w %q: broker %d: %v", ErrInvalidDSN, dsn, i+1, err)
		}
		brokers = append(brokers, b)
	}
	return brokers, nil
}

// parseBroker checks one host[:port] and returns it as host:port.
func parseBroker(hp string) (string, error) {
	if hp == "" {
		return "", errors.New("empty (stray comma?)")
	}
	if strings.ContainsFunc(hp, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", fmt.Errorf("%q contains a space or control character", hp)
	}
	host, port := hp, DefaultPort
	if strings.HasPrefix(hp, "[") || strings.Count(hp, ":") == 1 {
		var err error
		if host, port, err = net.SplitHostPort(hp); err != nil {
			// "[::1]" alone is a bracketed IPv6 host without a port.
			if strings.HasPrefix(hp, "[") && strings.HasSuffix(hp, "]") {
				host, port = hp[1:len(hp)-1], DefaultPort
			} else {
				return "", err
			}
		}
	} else if strings.Contains(hp, ":") {
		return "", fmt.Errorf("%q: an IPv6 address must be in brackets, as [::1]:9092", hp)
	}
	if host == "" {
		return "", fmt.Errorf("%q: empty host", hp)
	}
	if strings.Contains(host, ":") && net.ParseIP(host) == nil {
		return "", fmt.Errorf("%q: %q is not an IPv6 address", hp, host)
	}
	if !strings.Contains(host, ":") {
		for _, r := range host {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
				return "", fmt.Errorf("%q: host %q has %q, which a host name or IPv4 address cannot contain", hp, host, r)
			}
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port[0] == '+' || port[0] == '0' {
		return "", fmt.Errorf("%q: port %q is not a number from 1 to 65535", hp, port)
	}
	return net.JoinHostPort(host, port), nil
}
