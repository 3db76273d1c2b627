package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/schoolservice/school/waitingroom"
)

// verifyShuffle checks a waiting room's published shuffle (GET /queue/shuffle/WINDOW, or
// a saved copy): the seed matches the commitment and every place is the one the seed
// gives. It needs nothing of the app but that text.
func verifyShuffle(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("school verify-shuffle", getenv, stderr)
	var url, file string
	var ticket int
	fs.String(&url, "url", "", "address of the published shuffle, http(s)://HOST/queue/shuffle/WINDOW")
	fs.String(&file, "file", "", "a saved copy of it, instead of -url")
	fs.Int(&ticket, "ticket", 0, "also print this ticket number's place")
	var p problems
	if err := fs.parse(args, &p); err != nil {
		return err
	}
	if (url == "") == (file == "") {
		p.add("give -url or -file (one of them)")
	}
	if err := p.err(); err != nil {
		return err
	}
	var in io.ReadCloser
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		in = f
	} else {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		in = resp.Body
	}
	defer in.Close()
	s, err := waitingroom.ReadReveal(in)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "commitment %s\n", s.Commitment)
	if !s.Revealed() {
		return errors.New("the seed is not revealed yet: it is published when registration opens")
	}
	if err := s.Verify(); err != nil {
		return fmt.Errorf("the shuffle does NOT check out: %w", err)
	}
	fmt.Fprintf(stdout, "seed %s matches the commitment; all %d places are the ones the seed gives\n", s.Seed, len(s.Order))
	if ticket > 0 {
		for i, id := range s.Order {
			if id == int64(ticket) {
				fmt.Fprintf(stdout, "ticket %d is at place %d of %d\n", ticket, i+1, len(s.Order))
				return nil
			}
		}
		return fmt.Errorf("ticket %d is not in the shuffle (it joined after the opening, or took its place again)", ticket)
	}
	return nil
}
