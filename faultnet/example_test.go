package faultnet_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/ekka-mesh/ekka-mesh/faultnet"
)

// echoListener serves an echo on a free loopback port until stop is called.
func echoListener() (addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err) // an example has nowhere better to report a missing loopback
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(c, c)
				_ = c.Close()
			}()
		}
	}()
	return ln.Addr().String(), func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}

func Example() {
	addr1, stop1 := echoListener()
	defer stop1()
	addr2, stop2 := echoListener()
	defer stop2()

	fn := faultnet.New()
	defer fn.Close()
	fn.Register("n1@127.0.0.1", addr1)
	fn.Register("n2@127.0.0.1", addr2)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	exchange := func(msg string) {
		c, err := fn.Dial(ctx, "n1@127.0.0.1", "n2@127.0.0.1")
		if err != nil {
			fmt.Println("dial refused:", errors.Is(err, syscall.ECONNREFUSED))
			return
		}
		defer c.Close()
		_, _ = c.Write([]byte(msg))
		reply := make([]byte, len(msg))
		_, err = io.ReadFull(c, reply)
		fmt.Printf("n2 echoed %q, err=%v\n", reply, err)
	}

	exchange("hello")
	fn.Cut("n1@127.0.0.1", "n2@127.0.0.1")
	exchange("during the cut")
	fn.Heal("n1@127.0.0.1", "n2@127.0.0.1")
	exchange("healed")

	// Output:
	// n2 echoed "hello", err=<nil>
	// dial refused: true
	// n2 echoed "healed", err=<nil>
}
