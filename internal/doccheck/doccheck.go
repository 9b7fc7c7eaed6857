// Package doccheck finds the links of a Markdown file and checks that
// the relative ones resolve to files inside the repository, so that the
// documentation never points at a file that is gone, nor outside the
// repository (a sibling checkout, a shared folder) where a reader of a
// clone has nothing. Its test runs the check over every Markdown file of
// the repository.
package doccheck

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
)

// Link is one link target found in a Markdown file.
type Link struct {
	Line   int    // 1-based
	Target string // as written
}

var (
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)`)
	refDef     = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)`)
	autolink   = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9+.-]*:[^>\s]*)>`)
	htmlAttr   = regexp.MustCompile(`(?i)\b(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)')`)
	bareURL    = regexp.MustCompile(`(?i)\b(?:https?|ftp|file)://[^\s<>()\[\]]+`)
	codeSpan   = regexp.MustCompile("(`+)[^`]*?(`+)")
	scheme     = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
	fence      = regexp.MustCompile("^ {0,3}(```+|~~~+)")
)

// Prose returns the lines of md that are not code (fenced blocks,
// indented blocks, code spans), with code replaced by blanks so that
// positions and line numbers stay.
func Prose(md string) []string {
	lines := strings.Split(md, "\n")
	out := make([]string, len(lines))
	var inFence string
	prevBlank, inIndented := true, false
	for i, l := range lines {
		if inFence != "" {
			if m := fence.FindStringSubmatch(l); m != nil && strings.HasPrefix(m[1], inFence) && strings.TrimSpace(l) == strings.TrimSpace(m[0]) {
				inFence = ""
			}
			prevBlank = false
			continue
		}
		if m := fence.FindStringSubmatch(l); m != nil {
			inFence = m[1][:3]
			prevBlank = false
			continue
		}
		blank := strings.TrimSpace(l) == ""
		indented := strings.HasPrefix(l, "    ") || strings.HasPrefix(l, "\t")
		if !blank && indented && (prevBlank || inIndented) && !listContinuation(lines, i) {
			inIndented = true
			prevBlank = false
			continue
		}
		if !blank {
			inIndented = false
		}
		prevBlank = blank
		out[i] = codeSpan.ReplaceAllStringFunc(l, func(s string) string { return strings.Repeat(" ", len(s)) })
	}
	return out
}

// listContinuation reports whether the indented line i continues a list
// item (a blank line inside an item, then more of it) rather than starting
// an indented code block.
func listContinuation(lines []string, i int) bool {
	for j := i - 1; j >= 0; j-- {
		t := strings.TrimSpace(lines[j])
		if t == "" {
			continue
		}
		if !strings.HasPrefix(lines[j], " ") && !strings.HasPrefix(lines[j], "\t") {
			return listItem.MatchString(lines[j])
		}
	}
	return false
}

var listItem = regexp.MustCompile(`^(?:[-+*]|\d+[.)])\s`)

// Links returns every link target of md outside code: inline links and
// images, reference definitions, autolinks, href and src attributes and
// bare URLs.
func Links(md string) []Link {
	var out []Link
	for i, l := range Prose(md) {
		add := func(target string) {
			target = strings.TrimSuffix(strings.TrimPrefix(target, "<"), ">")
			out = append(out, Link{Line: i + 1, Target: target})
		}
		for _, m := range inlineLink.FindAllStringSubmatch(l, -1) {
			add(m[1])
		}
		if m := refDef.FindStringSubmatch(l); m != nil {
			add(m[1])
		}
		for _, m := range autolink.FindAllStringSubmatch(l, -1) {
			add(m[1])
		}
		for _, m := range htmlAttr.FindAllStringSubmatch(l, -1) {
			add(m[1] + m[2])
		}
		rest := inlineLink.ReplaceAllString(autolink.ReplaceAllString(l, ""), "")
		for _, u := range bareURL.FindAllString(rest, -1) {
			add(strings.TrimRight(u, ".,;:!?'\""))
		}
	}
	return out
}

// Anchors returns the fragments GitHub gives the headings of md (and the
// name and id attributes of HTML anchors).
func Anchors(md string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	lines := strings.Split(md, "\n")
	prose := Prose(md)
	for i, l := range lines {
		if prose[i] == "" && strings.TrimSpace(l) != "" {
			continue // code
		}
		for _, m := range htmlName.FindAllStringSubmatch(l, -1) {
			anchors[m[1]] = true
		}
		t := strings.TrimLeft(l, " ")
		if len(l)-len(t) > 3 || !strings.HasPrefix(t, "#") {
			continue
		}
		h := strings.TrimLeft(t, "#")
		if len(t)-len(h) > 6 || (h != "" && h[0] != ' ' && h[0] != '\t') {
			continue
		}
		slug := Slug(strings.TrimRight(strings.TrimSpace(h), "# "))
		if n := seen[slug]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	return anchors
}

var htmlName = regexp.MustCompile(`(?i)<a\s[^>]*\b(?:name|id)\s*=\s*"([^"]+)"`)

// Slug is GitHub's anchor for a heading: the text of links and code kept,
// lower case, spaces become '-', other punctuation but '-' and '_' dropped.
func Slug(heading string) string {
	heading = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`).ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// Problem is a bad link.
type Problem struct {
	File   string // relative to the root, with '/'
	Line   int
	Target string
	Why    string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: link %q %s", p.File, p.Line, p.Target, p.Why)
}

// Options say what a Check accepts.
type Options struct {
	// NoExternal refuses links to other sites (http, https, mailto...).
	NoExternal bool
}

// Check checks the links of the Markdown file rel (slash-separated,
// relative to root): a relative link must name a file or directory that
// exists inside root, a fragment a heading of its Markdown target; a link
// may not be an absolute path or a file: URL; with NoExternal, no link may
// leave the repository at all.
func Check(root, rel string, opts Options) ([]Problem, error) {
	md, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	var probs []Problem
	bad := func(l Link, why string, args ...any) {
		probs = append(probs, Problem{File: rel, Line: l.Line, Target: l.Target, Why: fmt.Sprintf(why, args...)})
	}
	anchorCache := map[string]map[string]bool{}
	anchorsOf := func(file string) (map[string]bool, error) {
		if a, ok := anchorCache[file]; ok {
			return a, nil
		}
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(file)))
		if err != nil {
			return nil, err
		}
		anchorCache[file] = Anchors(string(b))
		return anchorCache[file], nil
	}
	for _, l := range Links(string(md)) {
		t := l.Target
		switch {
		case t == "":
			bad(l, "is empty")
			continue
		case scheme.MatchString(t):
			s := strings.ToLower(scheme.FindString(t))
			switch {
			case s == "file:":
				bad(l, "is a file: URL, which only resolves on one machine; link a file of the repository by its relative path")
			case s != "http:" && s != "https:" && s != "mailto:":
				bad(l, "has the scheme %s; want a relative path into the repository", s)
			case opts.NoExternal:
				bad(l, "points outside the repository; name the site in plain text without its scheme (example.com/page), or link a file of the repository")
			}
			continue
		case strings.HasPrefix(t, "//"):
			bad(l, "is a network-path URL; want a relative path into the repository")
			continue
		case strings.HasPrefix(t, "/"):
			bad(l, "is an absolute path; want a path relative to %s", rel)
			continue
		}
		p, frag, _ := strings.Cut(t, "#")
		p, _, _ = strings.Cut(p, "?")
		target := rel
		if p != "" {
			dp, err := url.PathUnescape(p)
			if err != nil {
				bad(l, "is not a valid path: %v", err)
				continue
			}
			target = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(filepath.FromSlash(rel)), filepath.FromSlash(dp))))
			if target == ".." || strings.HasPrefix(target, "../") {
				why := "leaves the repository (resolves to %s outside its root)"
				if strings.Contains("/"+target+"/", "/shared/") {
					why = "points into a shared folder outside the repository (%s); a clone has no such folder"
				}
				bad(l, why, target)
				continue
			}
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(target))); err != nil {
				bad(l, "names %s, which does not exist in the repository", target)
				continue
			}
		}
		if frag != "" && strings.HasSuffix(strings.ToLower(target), ".md") {
			anchors, err := anchorsOf(target)
			if err != nil {
				return nil, err
			}
			if !anchors[frag] {
				bad(l, "names the anchor #%s, which no heading of %s has", frag, target)
			}
		}
	}
	return probs, nil
}
