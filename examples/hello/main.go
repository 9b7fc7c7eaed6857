// Command hello is a node that answers "greet", joins the node named by
// --join, greets it, and stops on Ctrl-C:
//
//	go run ./examples/hello --name n1@127.0.0.1
//	go run ./examples/hello --name n2@127.0.0.1 --join n1@127.0.0.1
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

func main() {
	name := flag.String("name", "n1@127.0.0.1", "this node's name, short@host; its trailing digits pick the port")
	join := flag.String("join", "", "a node to join and greet, such as n2@127.0.0.1")
	cookie := flag.String("cookie", "hello-secret", "the cluster's shared secret")
	basePort := flag.Int("base-port", 4370, "the port of a name without trailing digits")
	timeout := flag.Duration("timeout", 10*time.Second, "how long to try to join and greet")
	flag.Parse()
	if err := run(*name, *join, *cookie, *basePort, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}

func run(name, join, cookie string, basePort int, timeout time.Duration) error {
	// Ctrl-C (SIGINT) or SIGTERM ends ctx, and so the program.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg := mesh.DefaultConfig() // no autoheal, no locker, autoclean off: see the README
	cfg.Name, cfg.Cookie, cfg.BasePort = name, cookie, basePort
	node, err := mesh.Start(ctx, cfg)
	if err != nil {
		return err
	}
	events := node.Subscribe() // node up/down/joining/leaving/healing, partition occurred/healed
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range events.C() { // closed when the node stops
			fmt.Println("event", ev.Kind, ev.Node)
		}
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := node.Stop(sctx); err != nil { // says goodbye to the peers
			fmt.Fprintln(os.Stderr, "hello:", err)
		}
		<-done
		fmt.Println("stopped", node.Name())
	}()

	err = node.Handle("greet", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		return []byte("hello " + from + ", this is " + node.Name()), nil
	})
	if err != nil {
		return err
	}
	fmt.Println("started", node.Name(), "on", node.Addr())

	if join != "" {
		jctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := node.Join(jctx, join); err != nil {
			return err // names the node and why: refused, unreachable, wrong cookie...
		}
		reply, err := node.Call(jctx, join, "greet", nil)
		if err != nil {
			return fmt.Errorf("call greet on %s: %w", join, err)
		}
		fmt.Printf("%s replied: %s\n", join, reply)
		fmt.Println("running nodes:", node.Info().RunningNodes)
	}

	<-ctx.Done()
	return nil
}
