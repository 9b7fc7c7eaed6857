package config

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// CookieFile is the name of the cookie file in the home directory, the
// counterpart of Erlang's .erlang.cookie.
const CookieFile = ".ekka-mesh.cookie"

// cookieLen is the length of a generated cookie, as Erlang's.
const cookieLen = 20

// ResolveCookie makes sure s.Node.Cookie is set and returns it. When it is
// empty (no cookie in the file, environment or flags), the cookie is read
// from home/.ekka-mesh.cookie, with blanks around it trimmed. When that file
// does not exist it is created, like Erlang's .erlang.cookie, with 20 random
// letters A-Z and mode 0400; created reports that. An existing file that is
// empty, is not a regular file, or that the group or others may access, is
// an error naming the file and the expected mode.
func ResolveCookie(s *Settings, home string) (cookie string, created bool, err error) {
	if s.Node.Cookie != "" {
		return s.Node.Cookie, false, nil
	}
	if home == "" {
		return "", false, fmt.Errorf("%w: no home directory to keep %s in; set node.cookie (or %s)", ErrCookie, CookieFile, EnvName("node.cookie"))
	}
	path := filepath.Join(home, CookieFile)
	cookie, err = readCookie(path)
	if errors.Is(err, fs.ErrNotExist) {
		cookie, created, err = createCookie(path)
	}
	if err != nil {
		return "", false, err
	}
	s.Node.Cookie = cookie
	return cookie, created, nil
}

func readCookie(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("%w %s: %v", ErrCookie, path, err)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("%w %s: is a %s; want a regular file with mode 0400", ErrCookie, path, info.Mode().Type())
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return "", fmt.Errorf("%w %s: mode %04o lets the group or others access it; want 0400 (or 0600), readable by its owner only (chmod 400 %s)", ErrCookie, path, perm, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w %s: %v", ErrCookie, path, err)
	}
	cookie := strings.TrimSpace(string(data))
	if cookie == "" {
		return "", fmt.Errorf("%w %s: the file is empty; want the cluster's cookie in it, or delete it to have a new one generated", ErrCookie, path)
	}
	if _, err := parseText(cookie); err != nil {
		return "", fmt.Errorf("%w %s: %v", ErrCookie, path, err)
	}
	return cookie, nil
}

func createCookie(path string) (string, bool, error) {
	cookie := randomCookie()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it first: use theirs.
		c, err := readCookie(path)
		return c, false, err
	}
	if err != nil {
		return "", false, fmt.Errorf("%w %s: cannot create it: %v", ErrCookie, path, err)
	}
	_, werr := f.WriteString(cookie)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(path)
		return "", false, fmt.Errorf("%w %s: writing it: %v", ErrCookie, path, err)
	}
	return cookie, true, nil
}

// randomCookie returns cookieLen uniformly random letters A-Z.
func randomCookie() string {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	out := make([]byte, 0, cookieLen)
	var buf [64]byte
	for len(out) < cookieLen {
		rand.Read(buf[:]) // crypto/rand.Read never returns an error (Go 1.24 and later)
		for _, b := range buf {
			// 234 = 9*26: reject above it so every letter is equally likely.
			if b < 234 && len(out) < cookieLen {
				out = append(out, letters[b%26])
			}
		}
	}
	return string(out)
}
