package rule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Attribute is one page (or, after [Attribute.Merge], all pages) of a
// DescribeSecurityGroupAttribute response.
type Attribute struct {
	GroupID     string
	Region      string
	VpcID       string
	Name        string
	Description string
	// InnerAccessPolicy is the intra-group policy (Accept or Drop); empty
	// when the response does not say.
	InnerAccessPolicy Policy
	// NextToken is non-empty while more pages follow.
	NextToken string
	Rules     []Rule
}

// ParseAttribute parses a DescribeSecurityGroupAttribute response body exactly
// as the API returns it: Permissions.Permission[] (a single object is
// tolerated too), capitalised Policy and IpProtocol, Priority as a number or a
// string, empty strings for absent fields, unknown fields ignored.
//
// Any permission that does not parse fails the whole body: a rule list with a
// hole in it must not be judged as if it were complete.
func ParseAttribute(body []byte) (Attribute, error) {
	var b attributeBody
	if err := json.Unmarshal(body, &b); err != nil {
		return Attribute{}, fmt.Errorf("parse security group attribute: %w", err)
	}
	a := Attribute{
		GroupID:     strings.TrimSpace(string(b.SecurityGroupId)),
		Region:      strings.TrimSpace(string(b.RegionId)),
		VpcID:       string(b.VpcId),
		Name:        string(b.SecurityGroupName),
		Description: string(b.Description),
		NextToken:   string(b.NextToken),
	}
	if a.GroupID == "" {
		return Attribute{}, errors.New("parse security group attribute: missing SecurityGroupId")
	}
	if s := strings.TrimSpace(string(b.InnerAccessPolicy)); s != "" {
		p, err := ParsePolicy(s)
		if err != nil {
			return Attribute{}, fmt.Errorf("parse security group attribute %s: InnerAccessPolicy: %w", a.GroupID, err)
		}
		a.InnerAccessPolicy = p
	}
	perms := b.Permissions.Permission
	a.Rules = make([]Rule, 0, len(perms))
	for i, jp := range perms {
		r, err := jp.permission().Rule(a.GroupID, a.Region)
		if err != nil {
			return Attribute{}, fmt.Errorf("parse security group attribute %s: permission %d: %w", a.GroupID, i, err)
		}
		a.Rules = append(a.Rules, r)
	}
	return a, nil
}

// Merge appends the next page to a and takes its NextToken. The pages must
// describe the same group.
func (a *Attribute) Merge(page Attribute) error {
	if page.GroupID != a.GroupID {
		return fmt.Errorf("merge attribute pages: group %s does not match %s", page.GroupID, a.GroupID)
	}
	a.Rules = append(a.Rules, page.Rules...)
	a.NextToken = page.NextToken
	return nil
}

type attributeBody struct {
	SecurityGroupId   flexString
	RegionId          flexString
	VpcId             flexString
	SecurityGroupName flexString
	Description       flexString
	InnerAccessPolicy flexString
	NextToken         flexString
	Permissions       permissionList
}

// permissionList is {"Permission": [...]}; it also takes {"Permission": {...}}
// (one element, as XML-converted responses sometimes have it), a bare array,
// and null.
type permissionList struct {
	Permission []jsonPermission
}

func (l *permissionList) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("null")):
		return nil
	case len(data) > 0 && data[0] == '[':
		return json.Unmarshal(data, &l.Permission)
	}
	var obj struct{ Permission json.RawMessage }
	if err := json.Unmarshal(data, &obj); err != nil {
		return err
	}
	inner := bytes.TrimSpace(obj.Permission)
	switch {
	case len(inner) == 0 || bytes.Equal(inner, []byte("null")):
		return nil
	case inner[0] == '{':
		var one jsonPermission
		if err := json.Unmarshal(inner, &one); err != nil {
			return err
		}
		l.Permission = []jsonPermission{one}
		return nil
	}
	return json.Unmarshal(inner, &l.Permission)
}

// jsonPermission is Permission with fields that take strings, numbers,
// booleans or null, like the SDK's fuzzy decoder.
type jsonPermission struct {
	SecurityGroupRuleId     flexString
	Direction               flexString
	IpProtocol              flexString
	PortRange               flexString
	SourcePortRange         flexString
	SourceCidrIp            flexString
	Ipv6SourceCidrIp        flexString
	SourceGroupId           flexString
	SourceGroupOwnerAccount flexString
	SourceGroupOwnerId      flexString
	SourcePrefixListId      flexString
	DestCidrIp              flexString
	Ipv6DestCidrIp          flexString
	DestGroupId             flexString
	DestGroupOwnerAccount   flexString
	DestGroupOwnerId        flexString
	DestPrefixListId        flexString
	Policy                  flexString
	Priority                flexString
	NicType                 flexString
	Description             flexString
	CreateTime              flexString
}

func (j jsonPermission) permission() Permission {
	return Permission{
		SecurityGroupRuleId:     string(j.SecurityGroupRuleId),
		Direction:               string(j.Direction),
		IpProtocol:              string(j.IpProtocol),
		PortRange:               string(j.PortRange),
		SourcePortRange:         string(j.SourcePortRange),
		SourceCidrIp:            string(j.SourceCidrIp),
		Ipv6SourceCidrIp:        string(j.Ipv6SourceCidrIp),
		SourceGroupId:           string(j.SourceGroupId),
		SourceGroupOwnerAccount: string(j.SourceGroupOwnerAccount),
		SourceGroupOwnerId:      string(j.SourceGroupOwnerId),
		SourcePrefixListId:      string(j.SourcePrefixListId),
		DestCidrIp:              string(j.DestCidrIp),
		Ipv6DestCidrIp:          string(j.Ipv6DestCidrIp),
		DestGroupId:             string(j.DestGroupId),
		DestGroupOwnerAccount:   string(j.DestGroupOwnerAccount),
		DestGroupOwnerId:        string(j.DestGroupOwnerId),
		DestPrefixListId:        string(j.DestPrefixListId),
		Policy:                  string(j.Policy),
		Priority:                string(j.Priority),
		NicType:                 string(j.NicType),
		Description:             string(j.Description),
		CreateTime:              string(j.CreateTime),
	}
}

// flexString decodes a JSON string, number or boolean to its text; null is "".
type flexString string

func (f *flexString) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return errors.New("empty value")
	}
	switch data[0] {
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case 'n':
		*f = ""
	case '{', '[':
		return fmt.Errorf("want a string or a number, got %s", kindOf(data[0]))
	default: // number, true, false: already validated by the decoder
		*f = flexString(data)
	}
	return nil
}

func kindOf(c byte) string {
	if c == '{' {
		return "an object"
	}
	return "an array"
}
