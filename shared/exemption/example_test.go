package exemption_test

import (
	"fmt"
	"time"

	"github.com/porthygiene/porthygiene/shared/exemption"
)

func ExampleParseTagValue() {
	e, err := exemption.ParseTagValue("owner=alice;reason=bastion host;until=2026-12-31;ports=22")
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Marker())
	fmt.Println(e.Active(time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC)), e.Active(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)))
	_, err = exemption.ParseTagValue("owner=alice;until=2026-12-31")
	fmt.Println(err)
	// Output:
	// [porthygiene-exempt owner=alice until=2026-12-31 reason="bastion host" ports=22]
	// true false
	// malformed exemption: missing reason
}
