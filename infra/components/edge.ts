/**
 * The edge (prod): a global external HTTPS load balancer in front of every region's gateway.
 * serverless NEG per region → backend service (EXTERNAL_MANAGED, Cloud Armor) → URL map → HTTPS proxy (managed
 * certificate, modern TLS) → global address + forwarding rule on 443. Serverless NEGs take no health check
 * (pitfall 12); the certificate provisions once DNS points at the address (pitfall 13) and is auto-named, so a domain
 * change replaces it cleanly. No port-80 listener: API clients use HTTPS.
 *
 * Cloud Armor: /internal/* never leaves Google's network (404 at the edge), a per-IP rate-based ban, and the
 * preconfigured OWASP rules. Prompts legitimately contain code, SQL and markup, so the body-inspecting rules (SQLi,
 * XSS, LFI, RCE) run in preview (logged, not enforced) until their false positives are known; the rules that look at
 * protocol and scanners are enforced.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { childOptions, NAMES, PATHS, type Context } from "./common.js";
import type { Gateway } from "./gateway.js";

const waf = (ruleSet: string) => `evaluatePreconfiguredWaf('${ruleSet}', {'sensitivity': 1})`;

export interface EdgeArgs {
  /** region → that region's gateway. */
  gateways: Record<string, Gateway>;
  domain: string;
}

export class Edge extends pulumi.ComponentResource {
  readonly address: gcp.compute.GlobalAddress;
  readonly securityPolicy: gcp.compute.SecurityPolicy;
  readonly backend: gcp.compute.BackendService;

  constructor(name: string, args: EdgeArgs, ctx: Context, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:Edge", name, {}, opts);
    const { cfg } = ctx;
    const project = cfg.projectId;

    const negs = Object.entries(args.gateways).map(
      ([region, gateway]) =>
        new gcp.compute.RegionNetworkEndpointGroup(
          `neg-${region}`,
          {
            project,
            name: `ggw-${region}`,
            region,
            networkEndpointType: "SERVERLESS",
            cloudRun: { service: NAMES.service },
          },
          childOptions(this, ctx, { dependsOn: [gateway.service] }),
        ),
    );

    this.securityPolicy = new gcp.compute.SecurityPolicy(
      "armor",
      {
        project,
        name: "ggw-edge",
        description: "Gemini gateway edge: internal paths, per-IP rate ban, OWASP rules",
        type: "CLOUD_ARMOR",
        advancedOptionsConfig: { jsonParsing: "STANDARD" },
        rules: [
          {
            priority: 1000,
            action: "deny(404)",
            description: `${PATHS.budgetAlerts} and other internal paths are for Google services only`,
            match: { expr: { expression: "request.path.startsWith('/internal/')" } },
          },
          ...[
            ["protocolattack-v33-stable", false],
            ["scannerdetection-v33-stable", false],
            ["methodenforcement-v33-stable", false],
            ["sqli-v33-stable", true],
            ["xss-v33-stable", true],
            ["lfi-v33-stable", true],
            ["rce-v33-stable", true],
          ].map(([ruleSet, preview], i) => ({
            priority: 2000 + i,
            action: "deny(403)",
            preview: preview as boolean,
            description: `OWASP ${String(ruleSet)}${preview ? " (preview: prompts carry code and SQL)" : ""}`,
            match: { expr: { expression: waf(String(ruleSet)) } },
          })),
          {
            priority: 3000,
            action: "rate_based_ban",
            description: `More than ${cfg.edgeRateLimitPerMinute} requests a minute from one IP: banned ${cfg.edgeBanSeconds}s`,
            match: { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: ["*"] } },
            rateLimitOptions: {
              conformAction: "allow",
              exceedAction: "deny(429)",
              enforceOnKey: "IP",
              rateLimitThreshold: { count: cfg.edgeRateLimitPerMinute, intervalSec: 60 },
              banThreshold: { count: cfg.edgeRateLimitPerMinute * 2, intervalSec: 300 },
              banDurationSec: cfg.edgeBanSeconds,
            },
          },
          {
            priority: 2147483647,
            action: "allow",
            description: "Default: allow",
            match: { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: ["*"] } },
          },
        ],
      },
      childOptions(this, ctx),
    );

    this.backend = new gcp.compute.BackendService(
      "backend",
      {
        project,
        name: "ggw-gateway",
        description: "Every region's gateway; requests go to the closest healthy region",
        loadBalancingScheme: "EXTERNAL_MANAGED",
        protocol: "HTTPS",
        securityPolicy: this.securityPolicy.id,
        backends: negs.map((neg) => ({ group: neg.id })),
        logConfig: { enable: true, sampleRate: 1 },
      },
      childOptions(this, ctx),
    );

    const urlMap = new gcp.compute.URLMap(
      "url-map",
      { project, name: "ggw-edge", defaultService: this.backend.id },
      childOptions(this, ctx),
    );

    const certificate = new gcp.compute.ManagedSslCertificate(
      "certificate",
      { project, managed: { domains: [args.domain] } },
      childOptions(this, ctx),
    );

    const tls = new gcp.compute.SSLPolicy(
      "tls",
      { project, name: "ggw-modern", profile: "MODERN", minTlsVersion: "TLS_1_2" },
      childOptions(this, ctx),
    );

    const proxy = new gcp.compute.TargetHttpsProxy(
      "https-proxy",
      { project, name: "ggw-edge", urlMap: urlMap.id, sslCertificates: [certificate.id], sslPolicy: tls.id },
      childOptions(this, ctx),
    );

    this.address = new gcp.compute.GlobalAddress(
      "address",
      { project, name: "ggw-edge", addressType: "EXTERNAL", ipVersion: "IPV4" },
      childOptions(this, ctx),
    );

    new gcp.compute.GlobalForwardingRule(
      "https",
      {
        project,
        name: NAMES.forwardingRule,
        target: proxy.id,
        ipAddress: this.address.id,
        ipProtocol: "TCP",
        portRange: "443",
        loadBalancingScheme: "EXTERNAL_MANAGED",
      },
      childOptions(this, ctx),
    );
    this.registerOutputs({ address: this.address.address });
  }
}
