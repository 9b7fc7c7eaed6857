package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ekka-mesh/ekka-mesh/portmap"
)

// Value parsers. Each returns an error whose text says what was expected;
// the caller adds the source, key and value.

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "on", "true":
		return true, nil
	case "off", "false":
		return false, nil
	}
	return false, errors.New("want on, off, true or false")
}

func formatBool(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func parseIntRange(lo, hi int) func(string) (int, error) {
	return func(v string) (int, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("want an integer from %d to %d", lo, hi)
		}
		return n, nil
	}
}

func parsePort(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > portmap.MaxPort {
		return 0, fmt.Errorf("want a port number from 1 to %d", portmap.MaxPort)
	}
	return n, nil
}

// durationUnits are the units parseDuration accepts: Go's, plus cuttlefish's
// d (day) and w (week).
var durationUnits = map[string]time.Duration{
	"ns": time.Nanosecond,
	"us": time.Microsecond,
	"µs": time.Microsecond,
	"ms": time.Millisecond,
	"s":  time.Second,
	"m":  time.Minute,
	"h":  time.Hour,
	"d":  24 * time.Hour,
	"w":  7 * 24 * time.Hour,
}

const durationWant = "want a duration with a unit, such as 500ms, 30s, 5m, 1h, 1d or 1m30s"

// parseDuration reads a non-negative duration: one or more number-unit
// pairs (1h30m, 1.5s, 2d). A bare number has no unit and is rejected, so 30
// is never silently read as 30 ms or 30 s.
func parseDuration(v string) (time.Duration, error) {
	if v == "" {
		return 0, errors.New(durationWant)
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return 0, fmt.Errorf("a bare number has no unit; %s", durationWant)
	}
	var total float64
	rest := v
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		num := rest[:i]
		rest = rest[i:]
		j := 0
		for j < len(rest) && !(rest[j] >= '0' && rest[j] <= '9' || rest[j] == '.') {
			j++
		}
		unitName := rest[:j]
		rest = rest[j:]
		f, err := strconv.ParseFloat(num, 64)
		unit, ok := durationUnits[unitName]
		if num == "" || err != nil || !ok {
			return 0, errors.New(durationWant)
		}
		total += f * float64(unit)
	}
	if total >= math.MaxInt64 {
		return 0, fmt.Errorf("duration too long; want at most %s", time.Duration(math.MaxInt64))
	}
	// Rounded, not truncated: 32.001µs is 32000.999... ns in floating point,
	// and must read back as the 32001ns it was written from.
	return time.Duration(math.Round(total)), nil
}

// formatDuration writes d in the largest unit that divides it exactly.
func formatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return d.String()
}

func parsePositiveDuration(v string) (time.Duration, error) {
	d, err := parseDuration(v)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, errors.New("want a duration above zero, such as 1s")
	}
	return d, nil
}

// parseOffDuration reads "off" (0) or a positive duration; "on" means
// onValue when onValue is not 0.
func parseOffDuration(onValue time.Duration) func(string) (time.Duration, error) {
	want := "want off or a positive duration such as 30s or 5m"
	if onValue != 0 {
		want = fmt.Sprintf("want on (%s), off or a positive duration such as 30s or 5m", formatDuration(onValue))
	}
	return func(v string) (time.Duration, error) {
		switch strings.ToLower(v) {
		case "off", "false":
			return 0, nil
		case "on", "true":
			if onValue != 0 {
				return onValue, nil
			}
		}
		d, err := parseDuration(v)
		if err != nil || d <= 0 {
			return 0, errors.New(want)
		}
		return d, nil
	}
}

func formatOffDuration(d time.Duration) string {
	if d == 0 {
		return "off"
	}
	return formatDuration(d)
}

// parseOnOffDuration reads on (0: the user of the key picks the duration),
// off (-1) or a positive duration.
func parseOnOffDuration(v string) (time.Duration, error) {
	switch strings.ToLower(v) {
	case "on", "true":
		return 0, nil
	case "off", "false":
		return -1, nil
	}
	d, err := parseDuration(v)
	if err != nil || d <= 0 {
		return 0, errors.New("want on, off or a positive duration such as 5s")
	}
	return d, nil
}

func formatOnOffDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "on"
	case d < 0:
		return "off"
	}
	return formatDuration(d)
}

func parseNodeTTL(v string) (time.Duration, error) {
	d, err := parseDuration(v)
	if err != nil {
		return 0, err
	}
	if d < time.Second || d%time.Second != 0 {
		return 0, errors.New("want a whole number of seconds, at least 1s (etcd leases count in seconds)")
	}
	return d, nil
}

// parseEnum returns a parser for a case-insensitive choice among options.
func parseEnum[T ~string](options ...T) func(string) (T, error) {
	names := make([]string, len(options))
	for i, o := range options {
		names[i] = string(o)
	}
	want := "want one of " + strings.Join(names, ", ")
	return func(v string) (T, error) {
		for _, o := range options {
			if strings.EqualFold(v, string(o)) {
				return o, nil
			}
		}
		return "", errors.New(want)
	}
}

// parseNodeName accepts a name a node can listen and be dialed under: a
// valid name that is not a remote shell's (remsh..., which has no port).
func parseNodeName(v string) (portmap.Name, error) {
	n, err := portmap.Parse(v)
	if err != nil {
		return portmap.Name{}, err
	}
	if n.RemoteShell() {
		return portmap.Name{}, fmt.Errorf("node name %q: a name beginning with %q is a remote shell's, which has no port (ekka gives it port 0); a node must listen at its name's port: choose another short name (ekka-mesh ctl is the remote shell and needs none)", v, portmap.RemoteShellPrefix)
	}
	return n, nil
}

// splitList splits a comma-separated list, trimming blanks around items. An
// empty or blank value is the empty list; an empty item is an error.
func splitList(v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	items := strings.Split(v, ",")
	for i := range items {
		items[i] = strings.TrimSpace(items[i])
		if items[i] == "" {
			return nil, fmt.Errorf("item %d of the comma-separated list is empty", i+1)
		}
	}
	return items, nil
}

func parseSeeds(v string) ([]portmap.Name, error) {
	items, err := splitList(v)
	if err != nil {
		return nil, err
	}
	seen := map[portmap.Name]bool{}
	var seeds []portmap.Name
	for _, item := range items {
		n, err := parseNodeName(item)
		if err != nil {
			return nil, err
		}
		if seen[n] {
			return nil, fmt.Errorf("seed %s is listed twice", n)
		}
		seen[n] = true
		seeds = append(seeds, n)
	}
	return seeds, nil
}

func formatSeeds(seeds []portmap.Name) string {
	s := make([]string, len(seeds))
	for i, n := range seeds {
		s[i] = n.String()
	}
	return strings.Join(s, ",")
}

func parsePorts(v string) ([]int, error) {
	items, err := splitList(v)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, errors.New("want at least one port, such as 4369 or 4369,4370")
	}
	seen := map[int]bool{}
	ports := make([]int, 0, len(items))
	for _, item := range items {
		p, err := parsePort(item)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", item, err)
		}
		if seen[p] {
			return nil, fmt.Errorf("port %d is listed twice", p)
		}
		seen[p] = true
		ports = append(ports, p)
	}
	return ports, nil
}

func formatInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// parseOptionalIP reads an IP literal, or "" for unset.
func parseOptionalIP(v string) (netip.Addr, error) {
	if v == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Addr{}, errors.New("want an IP address such as 127.0.0.1 or ::1, or empty")
	}
	return a, nil
}

func formatAddr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func parseIPv4(v string) (netip.Addr, error) {
	a, err := netip.ParseAddr(v)
	if err != nil || !a.Is4() {
		return netip.Addr{}, errors.New("want an IPv4 address such as 0.0.0.0 or 192.168.1.10")
	}
	return a, nil
}

func parseMulticast(v string) (netip.Addr, error) {
	a, err := netip.ParseAddr(v)
	if err != nil || !a.Is4() || !a.IsMulticast() {
		return netip.Addr{}, errors.New("want an IPv4 multicast address (224.0.0.0 to 239.255.255.255), such as 239.192.0.1")
	}
	return a, nil
}

// parseHTTPURL reads an http or https URL with a host.
func parseHTTPURL(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("want an http:// or https:// URL with a host, such as https://10.0.0.1:2379")
	}
	return v, nil
}

func parseOptionalURL(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	return parseHTTPURL(v)
}

func parseURLs(v string) ([]string, error) {
	items, err := splitList(v)
	if err != nil {
		return nil, err
	}
	for _, item := range items {
		if _, err := parseHTTPURL(item); err != nil {
			return nil, fmt.Errorf("%q: %v", item, err)
		}
	}
	return items, nil
}

// checkHostname accepts a DNS name (not an IP address), by the same rules
// as the host part of a node name.
func checkHostname(v string) error {
	if _, err := netip.ParseAddr(v); err == nil {
		return errors.New("want a DNS name, not an IP address")
	}
	if v == "" || strings.ContainsAny(v, "@:[]") {
		return errors.New("want a DNS name such as emqx.example.com")
	}
	if _, err := portmap.Parse("x@" + v); err != nil {
		var pe *portmap.Error
		if errors.As(err, &pe) {
			return errors.New(pe.Detail)
		}
		return err
	}
	return nil
}

func parseOptionalHostname(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	return v, checkHostname(v)
}

// parseShortName accepts what may stand before the '@' of a node name, or "".
func parseShortName(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if _, err := portmap.Parse(v + "@localhost"); err != nil {
		var pe *portmap.Error
		if errors.As(err, &pe) {
			return "", fmt.Errorf("%s; want the short name of the nodes, such as emqx", pe.Detail)
		}
		return "", err
	}
	return v, nil
}

// parseDNSLabel accepts a Kubernetes object name: lowercase letters, digits
// and '-', at most 63, starting and ending with a letter or digit.
func parseDNSLabel(v string) (string, error) {
	ok := v != "" && len(v) <= 63 && v[0] != '-' && v[len(v)-1] != '-'
	for i := 0; ok && i < len(v); i++ {
		c := v[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return "", errors.New("want a DNS label: 1 to 63 lowercase letters, digits and '-', not starting or ending with '-'")
	}
	return v, nil
}

func parseOptionalDNSLabel(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	return parseDNSLabel(v)
}

// parseHostPort accepts host:port with a hostname or IP host, or "".
func parseHostPort(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	const want = "want host:port, such as 127.0.0.1:53 or [::1]:53 or ns.example.com:53"
	host, port, err := net.SplitHostPort(v)
	if err != nil || host == "" {
		return "", errors.New(want)
	}
	if _, err := parsePort(port); err != nil {
		return "", fmt.Errorf("port %q: %v", port, err)
	}
	if _, err := netip.ParseAddr(host); err != nil {
		if err := checkHostname(host); err != nil {
			return "", fmt.Errorf("host %q: %v", host, err)
		}
	}
	return v, nil
}

// parseClusterName accepts 1 to 64 of [A-Za-z0-9_.-].
func parseClusterName(v string) (string, error) {
	ok := v != "" && len(v) <= 64
	for i := 0; ok && i < len(v); i++ {
		c := v[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
	}
	if !ok {
		return "", errors.New("want 1 to 64 characters from A-Z a-z 0-9 _ . -")
	}
	return v, nil
}

// parseCookieList accepts up to 8 comma-separated cookies:
// node.cookie_previous.
func parseCookieList(v string) ([]string, error) {
	items, err := splitList(v)
	if err != nil {
		return nil, err
	}
	if len(items) > 8 {
		return nil, fmt.Errorf("%d cookies, want at most 8", len(items))
	}
	for i, item := range items {
		if _, err := parseText(item); err != nil {
			return nil, fmt.Errorf("cookie %d: %v", i+1, err)
		}
	}
	return items, nil
}

// parseText accepts any text without control characters (paths, cookies).
func parseText(v string) (string, error) {
	for i, r := range v {
		if unicode.IsControl(r) {
			return "", fmt.Errorf("control character %q at position %d; want printable text", r, i+1)
		}
	}
	return v, nil
}

// parseToken accepts non-empty text without blanks or control characters.
func parseToken(v string) (string, error) {
	if v == "" {
		return "", errors.New("want a non-empty word without blanks")
	}
	for i, r := range v {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return "", fmt.Errorf("character %q at position %d; want a word without blanks", r, i+1)
		}
	}
	return v, nil
}

// Size units, 1024-based as in cuttlefish and EMQX (64MB is 64 MiB).
const (
	kib int64 = 1 << 10
	mib int64 = 1 << 20
	gib int64 = 1 << 30
)

// sizeUnits are the suffixes parseSize accepts, in lower case.
var sizeUnits = map[string]int64{
	"": 1, "kb": kib, "kib": kib, "mb": mib, "mib": mib, "gb": gib, "gib": gib,
}

const sizeWant = "want a size such as 64MB, 512KB or 1048576 (bytes)"

// parseSize reads a byte size: digits, then optionally a unit KB, MB or GB
// (also KiB, MiB, GiB, any case), all 1024-based; a bare number is bytes.
// The result is in lo..hi.
func parseSize(lo, hi int64) func(string) (int64, error) {
	rangeMsg := fmt.Sprintf("%s, from %s to %s", sizeWant, formatSize(lo), formatSize(hi))
	return func(v string) (int64, error) {
		i := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		unit, ok := sizeUnits[strings.ToLower(v[i:])]
		if i == 0 || !ok {
			return 0, errors.New(sizeWant)
		}
		n, err := strconv.ParseInt(v[:i], 10, 64)
		if err != nil || n > hi/unit || n*unit < lo {
			return 0, errors.New(rangeMsg)
		}
		return n * unit, nil
	}
}

// formatSize writes n in the largest unit that divides it exactly (256MB,
// 4KB, 1000).
func formatSize(n int64) string {
	for _, u := range []struct {
		name string
		n    int64
	}{{"GB", gib}, {"MB", mib}, {"KB", kib}} {
		if n != 0 && n%u.n == 0 {
			return strconv.FormatInt(n/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// parseCount reads an integer in lo..hi (a count of things).
func parseCount(lo, hi int) func(string) (int, error) {
	return func(v string) (int, error) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < int64(lo) || n > int64(hi) {
			return 0, fmt.Errorf("want a whole number from %d to %d", lo, hi)
		}
		return int(n), nil
	}
}

// parseAutoCount reads auto (0) or an integer in lo..hi.
func parseAutoCount(lo, hi int) func(string) (int, error) {
	return orWord("auto", parseCount(lo, hi))
}

// orWord reads word (any case) as the zero value, which stands for it, or
// else what parse reads; its error names word as the alternative.
func orWord[T any](word string, parse func(string) (T, error)) func(string) (T, error) {
	return func(v string) (T, error) {
		var zero T
		if strings.EqualFold(v, word) {
			return zero, nil
		}
		x, err := parse(v)
		if err != nil {
			return zero, fmt.Errorf("want %s or %s", word, strings.TrimPrefix(err.Error(), "want "))
		}
		return x, nil
	}
}

// parseSystemSize reads "system" (0: leave the system's default) or a
// size in lo..hi.
func parseSystemSize(lo, hi int64) func(string) (int64, error) {
	return orWord("system", parseSize(lo, hi))
}

func formatSystemSize(n int64) string {
	if n == 0 {
		return "system"
	}
	return formatSize(n)
}

func formatAutoCount(n int) string {
	if n == 0 {
		return "auto"
	}
	return strconv.Itoa(n)
}

// parseRate reads a number of things per second from lo to hi, such as
// 100 or 0.5.
func parseRate(what string, lo, hi float64) func(string) (float64, error) {
	want := fmt.Sprintf("want a number of %s per second from %s to %s, such as 100 or 0.5", what, formatRate(lo), formatRate(hi))
	return func(v string) (float64, error) {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= lo && f <= hi) {
			return 0, errors.New(want)
		}
		return f, nil
	}
}

func formatRate(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
