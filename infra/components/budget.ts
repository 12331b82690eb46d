/**
 * The budget and its kill switch (docs/budget-kill-switch.md). A monthly Cloud Billing budget on this project
 * (budgetFilter by project number: an id would diff on every run, pitfall 15) with CURRENT_SPEND and
 * FORECASTED_SPEND threshold rules; every update is published to a Pub/Sub topic (schemaVersion "1.0"), which a push
 * subscription delivers, signed with an OIDC token of a dedicated account, to the gateway's
 * POST /internal/budget-alerts. The gateway checks that token against GATEWAY_BUDGET_PUSH_AUDIENCE and
 * GATEWAY_BUDGET_PUSH_SERVICE_ACCOUNT, which gateway.ts sets to the same values used here. Refused messages end in a
 * dead-letter topic instead of being redelivered for a week.
 *
 * Creating a budget needs Billing Account Administrator or Costs Manager on the billing account (pitfall 14).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { childOptions, NAMES, type Context } from "./common.js";
import type { Identities } from "./identities.js";

/** Cloud Billing publishes budget notifications as this account (granted publisher on the topic). */
export const BILLING_BUDGET_PUBLISHER = "serviceAccount:billing-budget-alert@system.gserviceaccount.com";

export interface BudgetArgs {
  projectNumber: pulumi.Output<string>;
  identities: Identities;
  channels: readonly gcp.monitoring.NotificationChannel[];
}

export class Budget extends pulumi.ComponentResource {
  readonly topic: gcp.pubsub.Topic;
  readonly deadLetterTopic: gcp.pubsub.Topic;
  readonly budget: gcp.billing.Budget;
  /** projects/<id>/topics/<name>: known at preview. */
  readonly topicPath: string;
  readonly deadLetterTopicPath: string;
  private readonly ctx: Context;
  private readonly args: BudgetArgs;
  private readonly pubsubAgent: gcp.projects.ServiceIdentity;

  constructor(name: string, args: BudgetArgs, ctx: Context, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:Budget", name, {}, opts);
    this.ctx = ctx;
    this.args = args;
    const { cfg } = ctx;
    const project = cfg.projectId;
    this.topicPath = `projects/${project}/topics/${NAMES.budgetTopic}`;
    this.deadLetterTopicPath = `projects/${project}/topics/${NAMES.budgetDeadLetterTopic}`;

    this.topic = new gcp.pubsub.Topic("budget-topic", { project, name: NAMES.budgetTopic }, childOptions(this, ctx));
    this.deadLetterTopic = new gcp.pubsub.Topic(
      "budget-dead-letter-topic",
      { project, name: NAMES.budgetDeadLetterTopic },
      childOptions(this, ctx),
    );
    // Dead letters are kept (a topic without subscriptions drops what it receives) for someone to read.
    new gcp.pubsub.Subscription(
      "budget-dead-letters",
      {
        project,
        name: `${NAMES.budgetDeadLetterTopic}-inspect`,
        topic: this.deadLetterTopicPath,
        messageRetentionDuration: "604800s",
        expirationPolicy: { ttl: "" },
      },
      childOptions(this, ctx, { dependsOn: [this.deadLetterTopic] }),
    );

    const publisher = new gcp.pubsub.TopicIAMMember(
      "budget-topic-billing-publisher",
      { project, topic: this.topic.name, role: "roles/pubsub.publisher", member: BILLING_BUDGET_PUBLISHER },
      childOptions(this, ctx),
    );

    this.pubsubAgent = new gcp.projects.ServiceIdentity(
      "pubsub-agent",
      { project, service: "pubsub.googleapis.com" },
      childOptions(this, ctx),
    );
    new gcp.pubsub.TopicIAMMember(
      "dead-letter-topic-pubsub-publisher",
      { project, topic: this.deadLetterTopic.name, role: "roles/pubsub.publisher", member: this.pubsubAgent.member },
      childOptions(this, ctx),
    );

    const rules = (percents: readonly number[], spendBasis: "CURRENT_SPEND" | "FORECASTED_SPEND") =>
      percents.map((p) => ({ thresholdPercent: p / 100, spendBasis }));
    this.budget = new gcp.billing.Budget(
      "budget",
      {
        billingAccount: cfg.billingAccount,
        displayName: `Gemini gateway ${cfg.environment}`,
        budgetFilter: {
          projects: [pulumi.interpolate`projects/${args.projectNumber}`],
          calendarPeriod: "MONTH",
          creditTypesTreatment: "INCLUDE_ALL_CREDITS",
        },
        amount: { specifiedAmount: { currencyCode: cfg.budgetCurrency, units: String(cfg.budgetAmount) } },
        thresholdRules: [
          ...rules(cfg.budgetCurrentThresholdsPercent, "CURRENT_SPEND"),
          ...rules(cfg.budgetForecastThresholdsPercent, "FORECASTED_SPEND"),
        ],
        allUpdatesRule: {
          pubsubTopic: this.topicPath,
          schemaVersion: "1.0",
          // A budget notifies at most five channels.
          monitoringNotificationChannels: args.channels.slice(0, 5).map((c) => c.name),
          disableDefaultIamRecipients: false,
        },
      },
      childOptions(this, ctx, { dependsOn: [this.topic, publisher] }),
    );
    this.registerOutputs({ topic: this.topicPath });
  }

  /** The push subscription to the gateway (only once the gateway exists). */
  addPushSubscription(
    endpoint: pulumi.Input<string>,
    invokerGrants: readonly pulumi.Resource[],
  ): gcp.pubsub.Subscription {
    const { cfg } = this.ctx;
    const project = cfg.projectId;
    const push = this.args.identities.budgetPush;
    const subscription = new gcp.pubsub.Subscription(
      "budget-push",
      {
        project,
        name: `${NAMES.budgetTopic}-push`,
        topic: this.topicPath,
        ackDeadlineSeconds: 30,
        messageRetentionDuration: "604800s",
        expirationPolicy: { ttl: "" },
        retryPolicy: { minimumBackoff: "10s", maximumBackoff: "600s" },
        deadLetterPolicy: { deadLetterTopic: this.deadLetterTopicPath, maxDeliveryAttempts: 10 },
        pushConfig: {
          pushEndpoint: endpoint,
          oidcToken: { serviceAccountEmail: push.email, audience: endpoint },
        },
      },
      childOptions(this, this.ctx, { dependsOn: [this.topic, this.deadLetterTopic, push.account, ...invokerGrants] }),
    );
    // Pub/Sub's service agent moves refused messages to the dead-letter topic, which needs it to subscribe here.
    new gcp.pubsub.SubscriptionIAMMember(
      "budget-push-pubsub-subscriber",
      { project, subscription: subscription.name, role: "roles/pubsub.subscriber", member: this.pubsubAgent.member },
      childOptions(this, this.ctx),
    );
    return subscription;
  }
}
