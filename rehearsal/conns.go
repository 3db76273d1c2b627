package rehearsal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// conns is one instance's kept-alive HTTP/1.1 connections, at most max of them open (a
// proxy's upstream pool), each request written and its answer read on the student's own
// goroutine with net/http's Request.Write and ReadResponse.
//
// Why not http.Transport: the students run on the machine they measure, and the
// Transport hands every request to a connection's writing goroutine and its answer back
// from a reading one. Those handoffs and their wake-ups were a third of the tool's CPU
// in a rehearsal's profile; on loopback a request and its answer cost client and server
// together 30 µs this way against 44 µs through the Transport.
type conns struct {
	addr    string // host:port
	timeout time.Duration
	idle    chan *conn    // kept-alive connections
	slots   chan struct{} // one per open connection, idle or busy
}

type conn struct {
	net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	lastUsed time.Time
}

// maxIdle: a connection idle this long is closed rather than used; the app's server
// closes one after two minutes (IdleTimeout), and one it closed must not be written to.
const maxIdle = time.Minute

func newConns(addr string, max int, timeout time.Duration) *conns {
	return &conns{addr: addr, timeout: timeout, idle: make(chan *conn, max), slots: make(chan struct{}, max)}
}

// do sends req and reads its whole answer (at most limit bytes of body). The request
// ends with ctx (its connection is then closed, as a browser closes a closed tab's) or
// after the timeout, waiting for a connection included.
func (p *conns) do(ctx context.Context, req *http.Request, limit int64) (*http.Response, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	c, err := p.get(ctx)
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	resp, body, err := c.roundTrip(req, limit)
	if !stop() || err != nil || resp.Close {
		c.Close()
		<-p.slots
		return resp, body, err
	}
	c.lastUsed = time.Now()
	p.idle <- c
	return resp, body, nil
}

func (c *conn) roundTrip(req *http.Request, limit int64) (*http.Response, []byte, error) {
	if err := req.Write(c.bw); err != nil {
		return nil, nil, err
	}
	if err := c.bw.Flush(); err != nil {
		return nil, nil, err
	}
	resp, err := http.ReadResponse(c.br, req)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err == nil && int64(len(body)) == limit && resp.ContentLength != limit {
		// The rest would be read as the next answer.
		err = fmt.Errorf("answer longer than %d bytes", limit)
	}
	resp.Body.Close()
	if err != nil {
		return nil, nil, err
	}
	return resp, body, nil
}

// get returns an idle connection that is still open, or dials one when fewer than max are
// open, or waits for one to come back.
func (p *conns) get(ctx context.Context) (*conn, error) {
	for {
		var c *conn
		select {
		case c = <-p.idle: // an idle one before a new one
		default:
			select {
			case c = <-p.idle:
			case p.slots <- struct{}{}:
				var d net.Dialer
				nc, err := d.DialContext(ctx, "tcp", p.addr)
				if err != nil {
					<-p.slots
					return nil, err
				}
				return &conn{Conn: nc, br: bufio.NewReader(nc), bw: bufio.NewWriter(nc)}, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if time.Since(c.lastUsed) < maxIdle && c.open() {
			return c, nil
		}
		c.Close()
		<-p.slots
	}
}

// open reports whether the server has not closed the idle connection (an instance that
// was killed or restarted, a server that timed it out): a peek that would block says it
// is open; an end of stream, an error or bytes nobody asked for say it is not.
func (c *conn) open() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = errors.Is(err, syscall.EAGAIN)
		return true // never wait: the answer is now or not at all
	})
	return err == nil && alive
}

// close closes the idle connections.
func (p *conns) close() {
	for {
		select {
		case c := <-p.idle:
			c.Close()
			<-p.slots
		default:
			return
		}
	}
}
