package hybrid

import (
	"io"
	"net"
	"sync/atomic"
)

// nlb stands in for the EKS ingress, an internal Network Load Balancer: layer 4, one
// TCP connection to one ready target, round robin. With no ready target it closes the
// connection at once, as an NLB with no healthy target resets it.
type nlb struct {
	l       net.Listener
	targets func() []string
	next    atomic.Uint64
}

func (n *nlb) serve() {
	for {
		c, err := n.l.Accept()
		if err != nil {
			return
		}
		go n.handle(c)
	}
}

func (n *nlb) handle(c net.Conn) {
	defer c.Close()
	ts := n.targets()
	if len(ts) == 0 {
		return
	}
	up, err := net.Dial("tcp", ts[n.next.Add(1)%uint64(len(ts))])
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { io.Copy(c, up); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	<-done
	<-done
}
