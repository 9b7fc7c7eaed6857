package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

// TestReadmeShowsThisProgram: README.md's library snippet is this program,
// byte for byte, so the README cannot show code that does not compile.
func TestReadmeShowsThisProgram(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	block, err := fencedBlockAfter(string(readme), "<!-- examples/hello/main.go -->")
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	if block != string(src) {
		a, b := strings.Split(block, "\n"), strings.Split(string(src), "\n")
		for i := range max(len(a), len(b)) {
			var x, y string
			if i < len(a) {
				x = a[i]
			}
			if i < len(b) {
				y = b[i]
			}
			if x != y {
				t.Fatalf("README.md's copy of examples/hello/main.go differs at line %d of the program:\n  README:  %q\n  main.go: %q\ncopy main.go into the README's block", i+1, x, y)
			}
		}
	}
}

// fencedBlockAfter returns the content of the first ```go block that
// follows the marker line in a Markdown text.
func fencedBlockAfter(md, marker string) (string, error) {
	i := strings.Index(md, marker+"\n")
	if i < 0 {
		return "", fmt.Errorf("no line %q to mark the program's block", marker)
	}
	rest := md[i+len(marker)+1:]
	if !strings.HasPrefix(rest, "```go\n") {
		return "", fmt.Errorf("the line after %q is not ```go", marker)
	}
	rest = rest[len("```go\n"):]
	end := strings.Index(rest, "\n```\n")
	if end < 0 {
		return "", fmt.Errorf("the block after %q is not closed", marker)
	}
	return rest[:end+1], nil
}

func TestFencedBlockAfter(t *testing.T) {
	md := "text\n<!-- m -->\n```go\npackage main\n\nfunc main() {}\n```\nmore\n"
	got, err := fencedBlockAfter(md, "<!-- m -->")
	if err != nil || got != "package main\n\nfunc main() {}\n" {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, bad := range []string{"no marker\n", "<!-- m -->\ntext\n", "<!-- m -->\n```go\nunclosed\n"} {
		if _, err := fencedBlockAfter(bad, "<!-- m -->"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestTwoNodes builds the program and runs it twice on loopback, as the
// README says: the second node joins the first, greets it, and both stop
// cleanly on SIGINT.
func TestTwoNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "hello")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/hello: %v\n%s", err, out)
	}
	base := testnet.FreeBase(t, "hello1@127.0.0.1", "hello2@127.0.0.1")
	bp := strconv.Itoa(base)

	n1 := start(ctx, t, bin, "--name", "hello1@127.0.0.1", "--base-port", bp, "--cookie", "test-cookie")
	n1.waitLine(ctx, t, fmt.Sprintf("started hello1@127.0.0.1 on 127.0.0.1:%d", base+1))

	n2 := start(ctx, t, bin, "--name", "hello2@127.0.0.1", "--base-port", bp, "--cookie", "test-cookie", "--join", "hello1@127.0.0.1")
	n2.waitLine(ctx, t, fmt.Sprintf("started hello2@127.0.0.1 on 127.0.0.1:%d", base+2))
	n2.waitLine(ctx, t, "hello1@127.0.0.1 replied: hello hello2@127.0.0.1, this is hello1@127.0.0.1")
	n2.waitLine(ctx, t, "running nodes: [hello1@127.0.0.1 hello2@127.0.0.1]")
	n1.waitLine(ctx, t, "event node-up hello2@127.0.0.1")

	n2.interrupt(t)
	n2.waitLine(ctx, t, "stopped hello2@127.0.0.1")
	n2.waitExit(ctx, t, 0)
	n1.waitLine(ctx, t, "event node-down hello2@127.0.0.1")

	n1.interrupt(t)
	n1.waitLine(ctx, t, "stopped hello1@127.0.0.1")
	n1.waitExit(ctx, t, 0)
}

// TestJoinNobody: a join that cannot succeed ends the program with status
// 1 and an error that names the node, instead of hanging.
func TestJoinNobody(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "hello")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/hello: %v\n%s", err, out)
	}
	bp := strconv.Itoa(testnet.FreeBase(t, "hello1@127.0.0.1", "hello2@127.0.0.1")) // nothing listens at hello1's port
	p := start(ctx, t, bin, "--name", "hello2@127.0.0.1", "--base-port", bp, "--cookie", "test-cookie", "--join", "hello1@127.0.0.1", "--timeout", "1s")
	p.waitExit(ctx, t, 1)
	if s := p.stderr.String(); !strings.Contains(s, "hello: mesh: join hello1@127.0.0.1: ") {
		t.Fatalf("stderr does not say which join failed:\n%s", s)
	}
	p.waitLine(ctx, t, "stopped hello2@127.0.0.1")
}

// proc is one running copy of the program.
type proc struct {
	cmd    *exec.Cmd
	stderr *testnet.SyncBuffer
	done   chan struct{} // closed when the process has exited and its output is read

	mu      sync.Mutex
	lines   []string      // stdout so far, line by line
	changed chan struct{} // capacity 1: a line was added or stdout ended
	eof     bool
	next    int // lines[:next] were looked at by waitLine
}

func start(ctx context.Context, t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{stderr: &testnet.SyncBuffer{}, done: make(chan struct{}), changed: make(chan struct{}, 1)}
	p.cmd = exec.CommandContext(ctx, bin, args...)
	p.cmd.Stderr = p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			p.notify()
		}
		io.Copy(io.Discard, out)
		p.mu.Lock()
		p.eof = true
		p.mu.Unlock()
		p.notify()
		p.cmd.Wait()
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			p.mu.Lock()
			defer p.mu.Unlock()
			t.Logf("hello %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), strings.Join(p.lines, "\n"), p.stderr.String())
		}
	})
	return p
}

func (p *proc) notify() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// waitLine waits until the program prints line (exactly) on stdout, after
// the lines an earlier waitLine matched.
func (p *proc) waitLine(ctx context.Context, t *testing.T, line string) {
	t.Helper()
	for {
		p.mu.Lock()
		for p.next < len(p.lines) {
			l := p.lines[p.next]
			p.next++
			if l == line {
				p.mu.Unlock()
				return
			}
		}
		eof := p.eof
		p.mu.Unlock()
		if eof {
			t.Fatalf("stdout ended without the line %q", line)
		}
		select {
		case <-p.changed:
		case <-ctx.Done():
			t.Fatalf("no line %q on stdout: %v", line, ctx.Err())
		}
	}
}

// interrupt sends SIGINT, as Ctrl-C does.
func (p *proc) interrupt(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
}

// waitExit waits for the program to exit and checks its status.
func (p *proc) waitExit(ctx context.Context, t *testing.T, code int) {
	t.Helper()
	select {
	case <-p.done:
	case <-ctx.Done():
		t.Fatalf("still running, want exit status %d: %v", code, ctx.Err())
	}
	if got := p.cmd.ProcessState.ExitCode(); got != code {
		t.Fatalf("exit status %d, want %d", got, code)
	}
}
