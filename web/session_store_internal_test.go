package web

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
)

// TestSessionStore: what scs's mysqlstore did, on the same table (a session written is
// found until it expires, then not; deleted, not found), and what it did not: a request
// whose client has gone gets its context's error, not the session; a sign-out whose
// client has gone still deletes it; a value that cannot be a token is no session.
func TestSessionStore(t *testing.T) {
	t.Parallel()
	sqldb, _ := dbtest.New(t)
	st := sessionStore{q: db.NewPrepared(sqldb).Queries()}
	ctx := context.Background()
	// Tokens as scs makes them: 43 characters of base64url.
	token := func(name string) string { return name + strings.Repeat("_", 43-len(name)) }
	live, expired, never := token("live"), token("expired"), token("never")
	if err := st.CommitCtx(ctx, live, []byte("v1"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.CommitCtx(ctx, live, []byte("v2"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err) // a second commit of the same token overwrites it
	}
	if err := st.CommitCtx(ctx, expired, []byte("old"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if b, found, err := st.FindCtx(ctx, live); err != nil || !found || !bytes.Equal(b, []byte("v2")) {
		t.Errorf("live session: %q, %v, %v", b, found, err)
	}
	for _, v := range []string{expired, never, "live", live[:42], live[:42] + "é", live[:42] + "="} {
		if b, found, err := st.FindCtx(ctx, v); err != nil || found {
			t.Errorf("session %q: %q, %v, %v; want not found", v, b, found, err)
		}
	}
	if all, err := st.AllCtx(ctx); err != nil || len(all) != 1 || !bytes.Equal(all[live], []byte("v2")) {
		t.Errorf("all sessions: %q, %v; want only the live one", all, err)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if _, found, err := st.FindCtx(gone, live); !errors.Is(err, context.Canceled) || found {
		t.Errorf("read for a request whose client has gone: %v, %v; want context.Canceled", found, err)
	}
	// Signing out ends the session even when the client is gone before the answer.
	if err := st.DeleteCtx(gone, live); err != nil {
		t.Fatal(err)
	}
	if _, found, err := st.FindCtx(ctx, live); err != nil || found {
		t.Errorf("deleted session: %v, %v; want not found", found, err)
	}
}
