package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
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

// maxLine bounds one line of a configuration file.
const maxLine = 1 << 20

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
//   - when a key appears twice, the later line wins.
func Parse(r io.Reader, source string) (map[string]Entry, error) {
	entries := map[string]Entry{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		trimmed := strings.TrimSpace(text)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", source, line)
		key, rawValue, ok := strings.Cut(trimmed, "=")
		if !ok {
			return nil, &Error{Where: where, Msg: fmt.Sprintf("malformed line %q: want key = value", trimmed), Err: ErrSyntax}
		}
		key = strings.TrimSpace(key)
		if key == "" {
			return nil, &Error{Where: where, Msg: fmt.Sprintf("malformed line %q: no key before '='", trimmed), Err: ErrSyntax}
		}
		if strings.ContainsFunc(key, func(r rune) bool { return r == ' ' || r == '\t' || r == '"' }) {
			return nil, &Error{Where: where, Msg: fmt.Sprintf("malformed line %q: key %q contains a blank or a quote; want key = value", trimmed, key), Err: ErrSyntax}
		}
		value, err := unquote(strings.TrimSpace(rawValue))
		if err != nil {
			return nil, &Error{Where: where, Key: key, Value: displayValue(key, strings.TrimSpace(rawValue)), Msg: err.Error(), Err: ErrSyntax}
		}
		entries[key] = Entry{Key: key, Value: value, File: source, Line: line}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &Error{Where: fmt.Sprintf("%s:%d", source, line+1), Msg: fmt.Sprintf("line longer than %d bytes", maxLine), Err: ErrSyntax}
		}
		return nil, fmt.Errorf("%s: reading configuration: %w", source, err)
	}
	return entries, nil
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
