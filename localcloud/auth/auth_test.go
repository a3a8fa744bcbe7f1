package auth

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	s := NewStore()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	user := s.AddUser("alice")
	sts := s.IssueSTS("porthygiene-fc-role", "guard", now, time.Hour)
	if !strings.HasPrefix(sts.AccessKeyID, "STS.") || sts.Identity.UserName != "porthygiene-fc-role:guard" {
		t.Fatalf("unexpected STS credential %+v", sts.Identity)
	}
	cases := []struct {
		name    string
		ak, tok string
		at      time.Time
		want    error
	}{
		{"ram user needs no token", user.AccessKeyID, "", now, nil},
		{"unknown key", "LTAInope", "", now, ErrUnknownKey},
		{"sts without token", sts.AccessKeyID, "", now, ErrTokenMissing},
		{"sts wrong token", sts.AccessKeyID, "CAISx", now, ErrTokenMismatch},
		{"sts valid", sts.AccessKeyID, sts.SecurityToken, now.Add(59 * time.Minute), nil},
		{"sts expired", sts.AccessKeyID, sts.SecurityToken, now.Add(61 * time.Minute), ErrTokenExpired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Verify(c.ak, c.tok, c.at)
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

func TestSecretsListsEveryIssuedSecret(t *testing.T) {
	s := NewStore()
	u := s.AddUser("alice")
	sts := s.IssueSTS("porthygiene-fc-role", "guard", time.Now(), time.Hour)
	got := s.Secrets()
	for _, want := range []string{u.AccessKeySecret, sts.AccessKeySecret, sts.SecurityToken} {
		if !slices.Contains(got, want) {
			t.Fatalf("Secrets() lacks %q", want)
		}
	}
	if slices.Contains(got, u.AccessKeyID) {
		t.Fatal("an AccessKey id is not a secret")
	}
}
