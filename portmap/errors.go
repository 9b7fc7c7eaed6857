package portmap

import (
	"errors"
	"fmt"
)

// Sentinels for the rules a name or port can break. Every error returned by
// this package is an *Error that matches exactly one of them with errors.Is.
var (
	// ErrSyntax: the name is not of the form short@host (no '@', or more than one).
	ErrSyntax = errors.New("name must be short@host")
	// ErrEmptyShort: nothing before the '@'.
	ErrEmptyShort = errors.New("empty short name")
	// ErrEmptyHost: nothing after the '@'.
	ErrEmptyHost = errors.New("empty host")
	// ErrBadChar: the short name holds a character outside [A-Za-z0-9_.-].
	ErrBadChar = errors.New("illegal character in short name")
	// ErrBadHost: the host is neither a valid hostname nor an IP literal.
	ErrBadHost = errors.New("invalid host")
	// ErrBadBase: the base port is outside 1..65535.
	ErrBadBase = errors.New("base port out of range")
	// ErrPortRange: base + offset is above 65535.
	ErrPortRange = errors.New("port out of range")
	// ErrTooLong: the name is longer than MaxNameLen bytes.
	ErrTooLong = errors.New("name too long")
	// ErrRemoteShell: the short name begins with "remsh", ekka's prefix for
	// remote shells, which have no port (see RemoteShellPrefix).
	ErrRemoteShell = errors.New("remote shell name has no port")
)

// Error reports a node name or port that breaks one of the rules.
type Error struct {
	// Name is the node name as given (may be empty for a bad base port).
	// Error() prints at most the first 64 bytes of a name longer than
	// MaxNameLen, so a hostile name cannot flood a log line.
	Name string
	// Rule is the broken rule: the text of one of the Err* sentinels.
	Rule string
	// Detail says what exactly was wrong and what was expected.
	Detail string

	rule error
}

func newError(name string, rule error, format string, args ...any) *Error {
	return &Error{Name: name, Rule: rule.Error(), Detail: fmt.Sprintf(format, args...), rule: rule}
}

// Error implements error: `node name "n1@": empty host: ...`.
func (e *Error) Error() string {
	msg := e.Rule
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Name == "" && e.rule == ErrBadBase {
		return msg
	}
	if len(e.Name) > MaxNameLen {
		return fmt.Sprintf("node name %q... (%d bytes): %s", e.Name[:64], len(e.Name), msg)
	}
	return fmt.Sprintf("node name %q: %s", e.Name, msg)
}

// Unwrap returns the sentinel for the broken rule, so errors.Is works.
func (e *Error) Unwrap() error {
	if e.rule != nil {
		return e.rule
	}
	for _, s := range []error{ErrSyntax, ErrEmptyShort, ErrEmptyHost, ErrBadChar, ErrBadHost, ErrBadBase, ErrPortRange, ErrTooLong, ErrRemoteShell} {
		if s.Error() == e.Rule {
			return s
		}
	}
	return nil
}
