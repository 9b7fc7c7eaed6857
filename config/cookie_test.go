package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestResolveCookieConfigured(t *testing.T) {
	s := Defaults()
	s.Node.Cookie = "given"
	home := t.TempDir()
	cookie, created, err := ResolveCookie(&s, home)
	if err != nil || cookie != "given" || created {
		t.Fatalf("ResolveCookie = %q, %v, %v", cookie, created, err)
	}
	if _, err := os.Stat(filepath.Join(home, CookieFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a configured cookie created the cookie file: %v", err)
	}
}

func TestResolveCookieCreatesAndRereads(t *testing.T) {
	home := t.TempDir()
	s := Defaults()
	cookie, created, err := ResolveCookie(&s, home)
	if err != nil || !created {
		t.Fatalf("ResolveCookie = %q, %v, %v; want a created cookie", cookie, created, err)
	}
	if !regexp.MustCompile(`^[A-Z]{20}$`).MatchString(cookie) || s.Node.Cookie != cookie {
		t.Fatalf("cookie %q (settings %q): want 20 letters A-Z stored in the settings", cookie, s.Node.Cookie)
	}
	path := filepath.Join(home, CookieFile)
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o400 {
		t.Fatalf("cookie file %v, %v; want mode 0400", info, err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != cookie {
		t.Fatalf("file holds %q, want %q", data, cookie)
	}
	s2 := Defaults()
	again, created, err := ResolveCookie(&s2, home)
	if err != nil || created || again != cookie {
		t.Fatalf("second ResolveCookie = %q, %v, %v; want %q read back", again, created, err, cookie)
	}
	// Two generated cookies differ.
	other := t.TempDir()
	s3 := Defaults()
	c3, _, err := ResolveCookie(&s3, other)
	if err != nil || c3 == cookie {
		t.Fatalf("a second home got cookie %q, %v (first %q)", c3, err, cookie)
	}
}

func TestResolveCookieReadsExisting(t *testing.T) {
	for _, mode := range []os.FileMode{0o400, 0o600} {
		home := t.TempDir()
		path := filepath.Join(home, CookieFile)
		if err := os.WriteFile(path, []byte("  MYCOOKIE\n"), mode); err != nil {
			t.Fatal(err)
		}
		s := Defaults()
		cookie, created, err := ResolveCookie(&s, home)
		if err != nil || created || cookie != "MYCOOKIE" {
			t.Errorf("mode %04o: ResolveCookie = %q, %v, %v; want MYCOOKIE, trimmed", mode, cookie, created, err)
		}
	}
}

func TestResolveCookieErrors(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Log("running as root: unreadable-file cases are skipped")
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		want  string
	}{
		{"group readable", func(t *testing.T, p string) { writeMode(t, p, "C", 0o640) }, "mode 0640 lets the group or others access it; want 0400 (or 0600)"},
		{"world readable", func(t *testing.T, p string) { writeMode(t, p, "C", 0o604) }, "mode 0604"},
		{"empty", func(t *testing.T, p string) { writeMode(t, p, " \n\t", 0o400) }, "the file is empty"},
		{"control characters", func(t *testing.T, p string) { writeMode(t, p, "A\x00B", 0o400) }, "control character"},
		{"directory", func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "is a d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			path := filepath.Join(home, CookieFile)
			tt.setup(t, path)
			s := Defaults()
			_, _, err := ResolveCookie(&s, home)
			if !errors.Is(err, ErrCookie) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ResolveCookie = %v; want ErrCookie naming %s and %q", err, path, tt.want)
			}
			if s.Node.Cookie != "" {
				t.Fatalf("a failed ResolveCookie set the cookie to %q", s.Node.Cookie)
			}
		})
	}
	s := Defaults()
	if _, _, err := ResolveCookie(&s, ""); !errors.Is(err, ErrCookie) || !strings.Contains(err.Error(), "EKKA_MESH_NODE__COOKIE") {
		t.Fatalf("ResolveCookie with no home = %v", err)
	}
	if os.Geteuid() != 0 {
		home := t.TempDir()
		if err := os.Chmod(home, 0o500); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(home, 0o700)
		if _, _, err := ResolveCookie(&s, home); !errors.Is(err, ErrCookie) || !strings.Contains(err.Error(), "cannot create it") {
			t.Fatalf("ResolveCookie in a read-only home = %v", err)
		}
	}
}

func writeMode(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is filtered by the umask
		t.Fatal(err)
	}
}

func TestRandomCookieAlphabet(t *testing.T) {
	seen := map[byte]bool{}
	for range 200 {
		c := randomCookie()
		if len(c) != cookieLen {
			t.Fatalf("cookie %q has length %d", c, len(c))
		}
		for i := 0; i < len(c); i++ {
			if c[i] < 'A' || c[i] > 'Z' {
				t.Fatalf("cookie %q holds %q", c, c[i])
			}
			seen[c[i]] = true
		}
	}
	if len(seen) != 26 {
		t.Fatalf("4000 random letters used only %d of 26", len(seen))
	}
}
