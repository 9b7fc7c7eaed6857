package admin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server is an admin endpoint on a listener of its own (Listen).
type Server struct {
	srv    *http.Server
	ln     net.Listener
	tls    bool
	cancel context.CancelFunc // ends the requests' contexts: the event streams
	done   chan struct{}      // closed when Serve returned
	err    error              // what Serve returned, once done
}

// Listen listens on addr (host:port; port 0 picks a free one) and serves h
// there until Shutdown: over HTTPS when tlsCfg is not nil (it must carry a
// certificate; ClientAuth and ClientCAs set in it make clients present
// certificates), plain HTTP otherwise. ctx bounds the listen only.
// logger receives the server's own errors (such as failed TLS handshakes)
// at debug level; nil means slog.Default().
func Listen(ctx context.Context, addr string, tlsCfg *tls.Config, h http.Handler, logger *slog.Logger) (*Server, error) {
	if h == nil {
		return nil, errors.New("admin: Listen: no handler")
	}
	if tlsCfg != nil && len(tlsCfg.Certificates) == 0 && tlsCfg.GetCertificate == nil {
		return nil, errors.New("admin: Listen: the TLS configuration has no certificate")
	}
	if logger == nil {
		logger = slog.Default()
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	base, cancel := context.WithCancel(context.Background())
	s := &Server{
		ln:     ln,
		tls:    tlsCfg != nil,
		cancel: cancel,
		done:   make(chan struct{}),
		srv: &http.Server{
			Handler:           h,
			TLSConfig:         tlsCfg,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			BaseContext:       func(net.Listener) context.Context { return base },
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		},
	}
	go func() {
		defer close(s.done)
		var err error
		if s.tls {
			err = s.srv.ServeTLS(ln, "", "") // the certificate is in TLSConfig
		} else {
			err = s.srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			s.err = err
			logger.Error("admin endpoint stopped serving", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the server's base URL, such as http://127.0.0.1:8370/.
func (s *Server) URL() string {
	scheme := "http"
	if s.tls {
		scheme = "https"
	}
	return scheme + "://" + s.ln.Addr().String() + "/"
}

// Shutdown stops the server: it stops accepting, ends the event streams,
// waits for the requests under way until ctx ends, then closes what is
// left. It returns once the server's goroutines have returned; calling it
// again does nothing.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
		err = fmt.Errorf("admin: requests still under way at shutdown were cut: %w", err)
	}
	<-s.done
	return err
}
