package handlers

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parcelflow/conveyor/checks"
)

func TestTreeCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newTreeCache(2)
	var fetches atomic.Int32
	load := func(key string) {
		t.Helper()
		if _, err := c.load(key, func() (checks.MapTree, error) {
			fetches.Add(1)
			return checks.MapTree{key: nil}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		key         string
		wantFetches int32
	}{
		{"a", 1}, {"b", 2}, {"a", 2}, // a is now the most recent
		{"c", 3},           // evicts b
		{"a", 3}, {"b", 4}, // b was evicted, a kept
	}
	for i, s := range steps {
		t.Run(fmt.Sprintf("%d-%s", i, s.key), func(t *testing.T) {
			load(s.key)
			if got := fetches.Load(); got != s.wantFetches {
				t.Fatalf("after loading %s: %d fetches, want %d", s.key, got, s.wantFetches)
			}
		})
	}
}

func TestTreeCacheSharesOneFetchAndKeepsNoErrors(t *testing.T) {
	c := newTreeCache(4)
	var fetches atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = c.load("sha", func() (checks.MapTree, error) {
				fetches.Add(1)
				<-release
				return checks.MapTree{}, nil
			})
		}()
	}
	for fetches.Load() == 0 {
		// wait until one loader is inside fetch
	}
	close(release)
	wg.Wait()
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d concurrent fetches of one commit, want 1", n)
	}
	if _, err := c.load("bad", func() (checks.MapTree, error) { return nil, errors.New("boom") }); err == nil {
		t.Fatal("a failed fetch reported no error")
	}
	if _, ok := c.get("bad"); ok {
		t.Fatal("a failed fetch was cached")
	}
}
