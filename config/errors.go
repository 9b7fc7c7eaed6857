package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinels for the kinds of configuration error; test with errors.Is.
var (
	// ErrSyntax: a line of a configuration file is not "key = value".
	ErrSyntax = errors.New("syntax error")
	// ErrUnknownKey: a key that ekka-mesh does not know.
	ErrUnknownKey = errors.New("unknown key")
	// ErrBadValue: a value that the key does not accept.
	ErrBadValue = errors.New("bad value")
	// ErrRefusedKey: a key of ekka's schema that ekka-mesh does not take;
	// the message says what to use instead (see RefusedKeys).
	ErrRefusedKey = errors.New("refused key")
	// ErrConflict: keys that are valid alone but not together.
	ErrConflict = errors.New("conflicting settings")
	// ErrDuplicateKey: a configuration file sets the same key on two lines.
	// It is a kind of ErrSyntax: errors.Is matches both.
	ErrDuplicateKey = fmt.Errorf("duplicate key: %w", ErrSyntax)
	// ErrCookie: the cookie file is missing its content, unreadable, or
	// readable by others.
	ErrCookie = errors.New("bad cookie file")
)

// Error is a configuration error: where it was found, the key and value, and
// what was expected.
type Error struct {
	// Where names the source: "path:line", "environment variable NAME",
	// "override \"key=value\"", or "" for Set and Validate.
	Where string
	// Key is the key concerned; "" for a malformed line.
	Key string
	// Value is the value as given ("(hidden)" for node.cookie); a value of
	// more than 512 bytes is shortened to its first 64 bytes, "..." and its
	// length, so that a huge value cannot flood a terminal or a log.
	Value string
	// Msg says what was wrong or expected.
	Msg string
	// Err is the kind: one of the sentinels.
	Err error
	// Cause is the underlying error, if any (such as a *portmap.Error).
	Cause error
}

// Error implements error, for example
// `ekka-mesh.conf:7: cluster.discovery = mdns: want one of manual, static, mcast, dns, etcd, k8s, singleton`.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Where != "" {
		b.WriteString(e.Where)
		b.WriteString(": ")
	}
	switch {
	case e.Err == ErrUnknownKey:
		b.WriteString("unknown key ")
		b.WriteString(e.Key)
	case e.Key != "":
		b.WriteString(e.Key)
		b.WriteString(" = ")
		b.WriteString(showValue(e.Value))
	}
	if e.Msg != "" {
		if e.Key != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Msg)
	}
	return b.String()
}

// Unwrap returns the sentinel and the cause.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// showValue writes a value bare when that is unambiguous, else quoted.
func showValue(v string) string {
	if v == "" || strings.TrimSpace(v) != v || strings.ContainsAny(v, "\"\\") || strings.ContainsFunc(v, func(r rune) bool { return !strconv.IsPrint(r) }) {
		return strconv.Quote(v)
	}
	return v
}
