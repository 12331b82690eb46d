/**
 * The environment's VPC: custom mode (no auto subnets), one /24 per Cloud Run region for Direct VPC egress (pitfall
 * 10: a /26 or larger; /24 leaves room for ~120 instances), and a private services access range peered with
 * servicenetworking, which is how Memorystore (connectMode PRIVATE_SERVICE_ACCESS) gets its private address.
 * Routing is GLOBAL so the second region reaches Redis in the primary one.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { childOptions, NAMES, type Context } from "./common.js";

/** 10.10.<i>.0/24 for the i-th region. */
export const subnetCidr = (index: number): string => `10.10.${index}.0/24`;

export class Network extends pulumi.ComponentResource {
  readonly network: gcp.compute.Network;
  readonly subnets: Record<string, gcp.compute.Subnetwork>;
  readonly psaRange: gcp.compute.GlobalAddress;
  readonly psaConnection: gcp.servicenetworking.Connection;
  /** projects/<id>/global/networks/<name>: known at preview. */
  readonly networkPath: string;

  constructor(name: string, ctx: Context, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:Network", name, {}, opts);
    const { cfg } = ctx;
    this.networkPath = `projects/${cfg.projectId}/global/networks/${NAMES.network}`;

    this.network = new gcp.compute.Network(
      "vpc",
      {
        project: cfg.projectId,
        name: NAMES.network,
        autoCreateSubnetworks: false,
        routingMode: "GLOBAL",
        description: "Gemini gateway: Direct VPC egress of Cloud Run and private access to Memorystore",
      },
      childOptions(this, ctx),
    );

    this.subnets = Object.fromEntries(
      cfg.regions.map((region, i) => [
        region,
        new gcp.compute.Subnetwork(
          `subnet-${region}`,
          {
            project: cfg.projectId,
            name: `ggw-${region}`,
            region,
            network: this.network.id,
            ipCidrRange: subnetCidr(i),
            privateIpGoogleAccess: true,
          },
          childOptions(this, ctx),
        ),
      ]),
    );

    this.psaRange = new gcp.compute.GlobalAddress(
      "psa-range",
      {
        project: cfg.projectId,
        name: NAMES.psaRange,
        purpose: "VPC_PEERING",
        addressType: "INTERNAL",
        prefixLength: 20,
        network: this.network.id,
      },
      childOptions(this, ctx),
    );

    this.psaConnection = new gcp.servicenetworking.Connection(
      "psa-connection",
      {
        network: this.network.id,
        service: "servicenetworking.googleapis.com",
        reservedPeeringRanges: [this.psaRange.name],
        // Deleting the peering fails while producers still hold addresses; the project's deletion removes it.
        deletionPolicy: "ABANDON",
      },
      childOptions(this, ctx),
    );
    this.registerOutputs({ network: this.network.id });
  }
}
