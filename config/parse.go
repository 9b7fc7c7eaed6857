package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Entry is one "key = value" line of a configuration file.
type Entry struct {
	Key   string
	Value string // unquoted
	File  string // the source name given to Parse, or the path given to ParseFile
	Line  int    // 1-based
}

// where names the entry's position for error messages.
func (e Entry) where() string {
	return fmt.Sprintf("%s:%d", e.File, e.Line)
}

// Limits of a configuration file. A file that breaks one is refused with an
// *Error naming the file, the line and, when there is one, the key.
const (
	// MaxLineBytes is the longest line, in bytes, of a configuration file,
	// its line end included (16 KiB; comments too). Room for a value of
	// MaxValueBytes written in quotes with every character escaped.
	MaxLineBytes = 16 << 10
	// MaxValueBytes is the longest value, in bytes after unquoting, of any
	// key (4 KiB), from a file, an environment variable or an override.
	// Keys have tighter limits of their own where it matters: node.name is
	// at most 255 bytes (portmap.MaxNameLen).
	MaxValueBytes = 4 << 10
	// MaxKeyBytes is the longest key (128 bytes; the longest known key is
	// under 40).
	MaxKeyBytes = 128
	// MaxFileBytes is the largest configuration file (1 MiB; the example,
	// which sets and explains every key, is under 8 KiB).
	MaxFileBytes = 1 << 20
)

// ParseFile reads the configuration file at path. See Parse.
func ParseFile(path string) (map[string]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads configuration lines from r; source names r in errors and in
// each Entry's File. It checks the syntax only: whether the keys exist and
// the values fit is checked by Load and Settings.Set.
//
// The syntax, after cuttlefish:
//
//   - a line "key = value" sets key; blanks around key and value are ignored;
//   - a value in double quotes keeps its blanks; inside, \" is a quote and \\
//     a backslash, any other backslash is kept as is;
//   - lines whose first non-blank character is '#' (## by convention) are
//     comments, and blank lines are ignored; there are no comments after a
//     value, so a '#' inside a value is part of it;
//   - each key appears at most once: a second line for the same key is an
//     error (ErrDuplicateKey) naming both lines, since which of two
//     settings was meant cannot be guessed. No key repeats legitimately: a
//     list (cluster.static.seeds, cluster.mcast.ports, cluster.etcd.server)
//     takes all its items on one line, comma-separated;
//   - a line is at most MaxLineBytes, a key at most MaxKeyBytes, a value at
//     most MaxValueBytes, the whole input at most MaxFileBytes.
func Parse(r io.Reader, source string) (map[string]Entry, error) {
	entries := map[string]Entry{}
	counted := &countingReader{r: r, limit: MaxFileBytes}
	br := bufio.NewReaderSize(counted, MaxLineBytes)
	line := 0
	for {
		raw, readErr := br.ReadSlice('\n')
		if len(raw) == 0 && readErr == io.EOF {
			break
		}
		line++
		where := fmt.Sprintf("%s:%d", source, line)
		if errors.Is(readErr, bufio.ErrBufferFull) {
			return nil, lineTooLong(where, raw)
		}
		if readErr != nil && readErr != io.EOF {
			if errors.Is(readErr, errFileTooLarge) {
				return nil, &Error{Where: where, Msg: fmt.Sprintf("the input is larger than %d bytes (MaxFileBytes); want a configuration file of at most %d bytes", MaxFileBytes, MaxFileBytes), Err: ErrSyntax}
			}
			return nil, fmt.Errorf("%s: reading configuration: %w", source, readErr)
		}
		text := string(raw)
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		trimmed := strings.TrimSpace(text)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			if readErr == io.EOF {
				break
			}
			continue
		}
		key, rawValue, ok := strings.Cut(trimmed, "=")
		if !ok {
			return nil, &Error{Where: where, Msg: fmt.Sprintf("malformed line %s: want key = value", preview(trimmed)), Err: ErrSyntax}
		}
		key = strings.TrimSpace(key)
		if key == "" {
			return nil, &Error{Where: where, Msg: fmt.Sprintf("malformed line %s: no key before '='", preview(trimmed)), Err: ErrSyntax}
		}
		if len(key) > MaxKeyBytes {
			return nil, &Error{Where: where, Msg: fmt.Sprintf("key %s is %d bytes; want a key of at most %d bytes, such as node.name", preview(key), len(key), MaxKeyBytes), Err: ErrSyntax}
		}
		if strings.ContainsFunc(key, func(r rune) bool { return r == ' ' || r == '\t' || r == '"' }) {
			return nil, &Error{Where: where, Msg: fmt.Sprintf("malformed line %s: key %q contains a blank or a quote; want key = value", preview(trimmed), key), Err: ErrSyntax}
		}
		value, err := unquote(strings.TrimSpace(rawValue))
		if err != nil {
			return nil, &Error{Where: where, Key: key, Value: displayValue(key, strings.TrimSpace(rawValue)), Msg: err.Error(), Err: ErrSyntax}
		}
		if err := checkValueLen(where, key, value, ErrSyntax); err != nil {
			return nil, err
		}
		if first, dup := entries[key]; dup {
			return nil, &Error{Where: where, Key: key, Value: displayValue(key, value), Err: ErrDuplicateKey,
				Msg: fmt.Sprintf("%s is set twice, here and at %s; want each key once: remove one of the two lines (a list takes all its items on one line, comma-separated)", key, first.where())}
		}
		entries[key] = Entry{Key: key, Value: value, File: source, Line: line}
		if readErr == io.EOF {
			break
		}
	}
	return entries, nil
}

// lineTooLong reports a line over MaxLineBytes, naming its key when the
// part read shows one.
func lineTooLong(where string, start []byte) error {
	msg := fmt.Sprintf("line longer than %d bytes (MaxLineBytes); want lines of at most %d bytes and values of at most %d bytes (MaxValueBytes)", MaxLineBytes, MaxLineBytes, MaxValueBytes)
	e := &Error{Where: where, Msg: msg, Err: ErrSyntax}
	trimmed := strings.TrimSpace(string(start))
	if strings.HasPrefix(trimmed, "#") {
		e.Msg = "comment " + msg
		return e
	}
	if key, _, ok := strings.Cut(trimmed, "="); ok {
		if key = strings.TrimSpace(key); key != "" && len(key) <= MaxKeyBytes && !strings.ContainsAny(key, " \t\"") {
			e.Msg = fmt.Sprintf("the line of %s is longer than %d bytes (MaxLineBytes); want a value of at most %d bytes (MaxValueBytes)", key, MaxLineBytes, MaxValueBytes)
		}
	}
	return e
}

// checkValueLen refuses a value longer than MaxValueBytes, as an error of
// kind kind.
func checkValueLen(where, key, value string, kind error) error {
	if len(value) <= MaxValueBytes {
		return nil
	}
	return &Error{Where: where, Key: key, Value: displayValue(key, value), Err: kind,
		Msg: fmt.Sprintf("the value is %d bytes; want at most %d bytes (MaxValueBytes)", len(value), MaxValueBytes)}
}

// preview quotes s for an error message, shortened when it is long (see
// Error.Value), so that a huge line cannot flood the terminal or the log.
func preview(s string) string {
	if head, long := shorten(s); long {
		return fmt.Sprintf("%q... (%d bytes)", head, len(s))
	}
	return strconv.Quote(s)
}

var errFileTooLarge = errors.New("file too large")

// countingReader fails once more than limit bytes were read.
type countingReader struct {
	r     io.Reader
	n     int64
	limit int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n > c.limit {
		return 0, errFileTooLarge
	}
	if rest := c.limit + 1 - c.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.limit {
		return n, errFileTooLarge
	}
	return n, err
}

// unquote returns v without its surrounding double quotes, if any.
func unquote(v string) (string, error) {
	if !strings.HasPrefix(v, `"`) {
		return v, nil
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && i+1 < len(v) && (v[i+1] == '"' || v[i+1] == '\\'):
			b.WriteByte(v[i+1])
			i++
		case c == '"':
			if rest := strings.TrimSpace(v[i+1:]); rest != "" {
				return "", fmt.Errorf("text %q after the closing quote; want nothing after it", rest)
			}
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New(`missing closing double quote`)
}
