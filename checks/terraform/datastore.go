package terraform

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// openCIDR reports the CIDRs that mean "the whole internet".
func openCIDR(c string) bool { return c == "0.0.0.0/0" || c == "::/0" }

// networkRules: ingress open to the internet on anything but 443 to a load
// balancer, and data stores placed in public subnets.
func networkRules(m *module, ev *evaluator) []Finding {
	var out []Finding
	lbGroups := map[string]bool{}
	for _, r := range m.resources {
		if r.data || (r.typ != "aws_lb" && r.typ != "aws_alb" && r.typ != "aws_elb") {
			continue
		}
		if a, ok := r.block.Body.Attributes["security_groups"]; ok {
			for _, t := range refs(a.Expr) {
				lbGroups[refAddr(t)] = true
			}
		}
	}
	check := func(r *resource, sg string, body *hclsyntax.Body, rng hcl.Range, cidrAttrs ...string) {
		var open []string
		for _, name := range cidrAttrs {
			cidrs, _ := stringList(ev.attr(body, name))
			for _, c := range cidrs {
				if openCIDR(c) {
					open = append(open, c)
				}
			}
		}
		if len(open) == 0 {
			return
		}
		from, _ := ev.attr(body, "from_port").(float64)
		to, _ := ev.attr(body, "to_port").(float64)
		proto, _ := ev.attr(body, "protocol").(string)
		if p, ok := ev.attr(body, "ip_protocol").(string); ok {
			proto = p
		}
		if from == 443 && to == 443 && proto != "-1" && proto != "all" && lbGroups[sg] {
			return
		}
		ports := fmt.Sprintf("ports %v-%v", from, to)
		if from == to {
			ports = fmt.Sprintf("port %v", from)
		}
		if proto == "-1" || proto == "all" {
			ports = "every port"
		}
		why := "only a load balancer's security group may be open to the internet, and only on 443"
		if lbGroups[sg] {
			why = "a load balancer may be open to the internet on 443 only"
		}
		out = append(out, at(RuleNetOpen, rng, fmt.Sprintf("%s allows ingress from %s on %s; %s", r.addr(), strings.Join(open, " and "), ports, why)))
	}
	for _, r := range m.resources {
		if r.data {
			continue
		}
		body := r.block.Body
		switch r.typ {
		case "aws_security_group":
			for _, in := range blocksOf(body, "ingress") {
				check(r, r.addr(), in.Body, in.DefRange(), "cidr_blocks", "ipv6_cidr_blocks")
			}
		case "aws_security_group_rule":
			if t, _ := ev.attr(body, "type").(string); t != "ingress" {
				continue
			}
			check(r, sgOf(body), body, attrRange(r, "cidr_blocks", "ipv6_cidr_blocks"), "cidr_blocks", "ipv6_cidr_blocks")
		case "aws_vpc_security_group_ingress_rule":
			check(r, sgOf(body), body, attrRange(r, "cidr_ipv4", "cidr_ipv6"), "cidr_ipv4", "cidr_ipv6")
		}
	}
	return append(out, publicSubnetRules(m, ev)...)
}

func sgOf(body *hclsyntax.Body) string {
	if a, ok := body.Attributes["security_group_id"]; ok {
		for _, t := range refs(a.Expr) {
			return refAddr(t)
		}
	}
	return ""
}

// attrRange returns the range of the first attribute present, else the block header.
func attrRange(r *resource, names ...string) hcl.Range {
	for _, n := range names {
		if a, ok := r.block.Body.Attributes[n]; ok {
			return a.SrcRange
		}
	}
	return r.block.DefRange()
}

// dataStoreSubnets names, per data store type, the attributes (path of
// nested blocks, then attribute) that place it in subnets.
func dataStoreSubnets(typ string) [][]string {
	switch typ {
	case "aws_db_instance", "aws_rds_cluster", "aws_docdb_cluster", "aws_neptune_cluster":
		return [][]string{{"db_subnet_group_name"}}
	case "aws_msk_cluster":
		return [][]string{{"broker_node_group_info", "client_subnets"}}
	case "aws_msk_serverless_cluster":
		return [][]string{{"vpc_config", "subnet_ids"}}
	case "aws_redshift_cluster":
		return [][]string{{"cluster_subnet_group_name"}}
	case "aws_redshiftserverless_workgroup":
		return [][]string{{"subnet_ids"}}
	case "aws_elasticache_cluster", "aws_elasticache_replication_group":
		return [][]string{{"subnet_group_name"}}
	case "aws_mwaa_environment":
		return [][]string{{"network_configuration", "subnet_ids"}}
	}
	return nil
}

// publicSubnetRules finds data stores whose subnets are public: subnets that
// map public IPs on launch, route to an internet gateway, or are named public
// (module.vpc.public_subnets, var.public_subnet_ids).
func publicSubnetRules(m *module, ev *evaluator) []Finding {
	publicTables := map[string]bool{}
	for _, r := range m.resources {
		switch {
		case r.data:
		case r.typ == "aws_route_table":
			for _, rt := range blocksOf(r.block.Body, "route") {
				if toIGW(rt.Body) {
					publicTables[r.addr()] = true
				}
			}
		case r.typ == "aws_route":
			if toIGW(r.block.Body) {
				if a, ok := r.block.Body.Attributes["route_table_id"]; ok {
					for _, t := range refs(a.Expr) {
						publicTables[refAddr(t)] = true
					}
				}
			}
		}
	}
	public := map[string]bool{}
	for _, r := range m.resources {
		switch {
		case r.data:
		case r.typ == "aws_subnet" && isTrue(ev.attr(r.block.Body, "map_public_ip_on_launch")):
			public[r.addr()] = true
		case r.typ == "aws_route_table_association":
			table := r.block.Body.Attributes["route_table_id"]
			subnet := r.block.Body.Attributes["subnet_id"]
			if table == nil || subnet == nil {
				continue
			}
			for _, t := range refs(table.Expr) {
				if publicTables[refAddr(t)] {
					for _, s := range refs(subnet.Expr) {
						public[refAddr(s)] = true
					}
				}
			}
		}
	}
	var isPublic func(t hcl.Traversal, depth int) (string, bool)
	isPublic = func(t hcl.Traversal, depth int) (string, bool) {
		for _, n := range traversalNames(t) {
			if strings.Contains(strings.ToLower(n), "public") {
				return strings.Join(traversalNames(t), "."), true
			}
		}
		addr := refAddr(t)
		if public[addr] {
			return addr, true
		}
		// A subnet group: follow its subnet_ids.
		if g, ok := m.byAddr[addr]; ok && depth == 0 && strings.HasSuffix(g.typ, "subnet_group") {
			if a, ok := g.block.Body.Attributes["subnet_ids"]; ok {
				for _, st := range refs(a.Expr) {
					if name, ok := isPublic(st, 1); ok {
						return name + " (through " + addr + ")", true
					}
				}
			}
		}
		return "", false
	}
	var out []Finding
	for _, r := range m.resources {
		if r.data {
			continue
		}
		for _, p := range dataStoreSubnets(r.typ) {
			a := nestedAttr(r.block.Body, p)
			if a == nil {
				continue
			}
			for _, t := range refs(a.Expr) {
				if name, ok := isPublic(t, 0); ok {
					out = append(out, at(RuleNetPublicData, a.SrcRange, fmt.Sprintf("%s is placed in public subnet %s; data stores belong in private subnets reached through the VPC", r.addr(), name)))
					break
				}
			}
		}
	}
	return out
}

func toIGW(b *hclsyntax.Body) bool {
	a, ok := b.Attributes["gateway_id"]
	if !ok {
		return false
	}
	for _, t := range refs(a.Expr) {
		if strings.HasPrefix(refAddr(t), "aws_internet_gateway.") {
			return true
		}
	}
	s, _ := exprLiteralString(a.Expr)
	return strings.HasPrefix(s, "igw-")
}

// nestedAttr follows blocks by type to an attribute: {"a", "b"} is block a's attribute b.
func nestedAttr(b *hclsyntax.Body, p []string) *hclsyntax.Attribute {
	for _, blk := range p[:len(p)-1] {
		bs := blocksOf(b, blk)
		if len(bs) == 0 {
			return nil
		}
		b = bs[0].Body
	}
	return b.Attributes[p[len(p)-1]]
}

// bucketLinked reports whether a companion resource's `bucket` names bucket r.
func bucketLinked(c *resource, bucket *resource, ev *evaluator) bool {
	a, ok := c.block.Body.Attributes["bucket"]
	if !ok {
		return false
	}
	if refersTo(a.Expr, bucket.addr()) {
		return true
	}
	name, ok := ev.value(a.Expr).(string)
	own, ok2 := ev.attr(bucket.block.Body, "bucket").(string)
	return ok && ok2 && name == own
}

// dataStoreRules: S3 versioning, encryption and public access block; RDS,
// MSK and Redshift encryption and public access; KMS key rotation.
func dataStoreRules(m *module, ev *evaluator) []Finding {
	var out []Finding
	accountBlock := false
	for _, r := range m.resources {
		if !r.data && r.typ == "aws_s3_account_public_access_block" && allPublicBlocks(r.block.Body, ev) == nil {
			accountBlock = true
		}
	}
	for _, r := range m.resources {
		if r.data {
			continue
		}
		b := r.block.Body
		switch r.typ {
		case "aws_s3_bucket":
			out = append(out, bucketRules(m, r, ev, accountBlock)...)
		case "aws_db_instance", "aws_rds_cluster", "aws_docdb_cluster", "aws_neptune_cluster":
			if _, replica := b.Attributes["replicate_source_db"]; !replica {
				if v := ev.attr(b, "storage_encrypted"); !isTrue(v) && !isUnknown(v) {
					out = append(out, at(RuleDBEncryption, attrRange(r, "storage_encrypted"), fmt.Sprintf("%s does not set storage_encrypted = true; its data and snapshots would be stored unencrypted", r.addr())))
				}
			}
			if isTrue(ev.attr(b, "publicly_accessible")) {
				out = append(out, at(RuleDBPublic, b.Attributes["publicly_accessible"].SrcRange, fmt.Sprintf("%s is publicly_accessible; source databases are reached from inside the VPC only", r.addr())))
			}
		case "aws_rds_cluster_instance":
			if isTrue(ev.attr(b, "publicly_accessible")) {
				out = append(out, at(RuleDBPublic, b.Attributes["publicly_accessible"].SrcRange, fmt.Sprintf("%s is publicly_accessible; source databases are reached from inside the VPC only", r.addr())))
			}
		case "aws_redshift_cluster":
			if v := ev.attr(b, "encrypted"); !isTrue(v) && !isUnknown(v) {
				out = append(out, at(RuleDBEncryption, attrRange(r, "encrypted"), fmt.Sprintf("%s does not set encrypted = true", r.addr())))
			}
			if isTrue(ev.attr(b, "publicly_accessible")) {
				out = append(out, at(RuleDBPublic, b.Attributes["publicly_accessible"].SrcRange, fmt.Sprintf("%s is publicly_accessible", r.addr())))
			}
		case "aws_redshiftserverless_workgroup":
			// Encryption lives on the namespace and is always on; exposure is the workgroup's.
			if isTrue(ev.attr(b, "publicly_accessible")) {
				out = append(out, at(RuleDBPublic, b.Attributes["publicly_accessible"].SrcRange, fmt.Sprintf("%s is publicly_accessible; the warehouse is reached from inside the VPC only", r.addr())))
			}
		case "aws_msk_cluster":
			out = append(out, mskRules(r, ev)...)
		case "aws_kms_key":
			spec, _ := ev.attr(b, "customer_master_key_spec").(string)
			if s, ok := ev.attr(b, "key_spec").(string); ok {
				spec = s
			}
			if spec != "" && spec != "SYMMETRIC_DEFAULT" {
				continue // only symmetric keys rotate
			}
			if v := ev.attr(b, "enable_key_rotation"); !isTrue(v) && !isUnknown(v) {
				out = append(out, at(RuleKMSRotation, attrRange(r, "enable_key_rotation"), fmt.Sprintf("%s does not set enable_key_rotation = true; a key that never rotates widens the blast radius of a leak", r.addr())))
			}
		}
	}
	return out
}

func mskRules(r *resource, ev *evaluator) []Finding {
	var out []Finding
	b := r.block.Body
	if a := nestedAttr(b, []string{"encryption_info", "encryption_in_transit", "client_broker"}); a != nil {
		if v, ok := ev.value(a.Expr).(string); ok && v != "TLS" {
			out = append(out, at(RuleDBEncryption, a.SrcRange, fmt.Sprintf("%s lets clients talk to brokers in plaintext (client_broker = %q); use \"TLS\"", r.addr(), v)))
		}
	}
	if a := nestedAttr(b, []string{"encryption_info", "encryption_in_transit", "in_cluster"}); a != nil {
		if v, ok := ev.value(a.Expr).(bool); ok && !v {
			out = append(out, at(RuleDBEncryption, a.SrcRange, fmt.Sprintf("%s turns off encryption between brokers (in_cluster = false)", r.addr())))
		}
	}
	if a := nestedAttr(b, []string{"broker_node_group_info", "connectivity_info", "public_access", "type"}); a != nil {
		if v, ok := ev.value(a.Expr).(string); ok && v != "DISABLED" {
			out = append(out, at(RuleDBPublic, a.SrcRange, fmt.Sprintf("%s opens its brokers to the internet (public_access type %q); keep Kafka inside the VPC", r.addr(), v)))
		}
	}
	return out
}

func bucketRules(m *module, r *resource, ev *evaluator, accountBlock bool) []Finding {
	b := r.block.Body
	versioned, encrypted, blocked := false, false, accountBlock
	var out []Finding
	// The inline forms of provider v3 still count.
	for _, v := range blocksOf(b, "versioning") {
		if e := ev.attr(v.Body, "enabled"); isTrue(e) || isUnknown(e) {
			versioned = true
		}
	}
	if len(blocksOf(b, "server_side_encryption_configuration")) > 0 {
		encrypted = true
	}
	for _, c := range m.resources {
		if c.data || !strings.HasPrefix(c.typ, "aws_s3_bucket_") || !bucketLinked(c, r, ev) {
			continue
		}
		cb := c.block.Body
		switch c.typ {
		case "aws_s3_bucket_versioning":
			a := nestedAttr(cb, []string{"versioning_configuration", "status"})
			if a == nil {
				continue
			}
			if s, ok := ev.value(a.Expr).(string); ok && s != "Enabled" {
				out = append(out, at(RuleS3Versioning, a.SrcRange, fmt.Sprintf("%s sets versioning to %q for %s; MWAA needs versioning on its bucket and rollbacks need old object versions", c.addr(), s, r.addr())))
			}
			versioned = true
		case "aws_s3_bucket_server_side_encryption_configuration":
			encrypted = true
		case "aws_s3_bucket_public_access_block":
			if missing := allPublicBlocks(cb, ev); len(missing) > 0 {
				out = append(out, at(RuleS3PublicBlock, c.block.DefRange(), fmt.Sprintf("%s does not set %s to true for %s", c.addr(), strings.Join(missing, ", "), r.addr())))
			}
			blocked = true
		}
	}
	if !versioned {
		out = append(out, at(RuleS3Versioning, r.block.DefRange(), fmt.Sprintf("%s has no aws_s3_bucket_versioning with status \"Enabled\"; MWAA requires a versioned bucket and rollbacks need old object versions", r.addr())))
	}
	if !encrypted {
		out = append(out, at(RuleS3Encryption, r.block.DefRange(), fmt.Sprintf("%s has no aws_s3_bucket_server_side_encryption_configuration; state the key (SSE-KMS for data, SSE-S3 at least)", r.addr())))
	}
	if !blocked {
		out = append(out, at(RuleS3PublicBlock, r.block.DefRange(), fmt.Sprintf("%s has no aws_s3_bucket_public_access_block; add one with all four settings true", r.addr())))
	}
	return out
}

// allPublicBlocks returns the public access block settings not set to true
// (unknown values count as set).
func allPublicBlocks(b *hclsyntax.Body, ev *evaluator) []string {
	var missing []string
	for _, k := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
		if v := ev.attr(b, k); !isTrue(v) && !isUnknown(v) {
			missing = append(missing, k)
		}
	}
	return missing
}
