/**
 * The budget and its kill switch (docs/budget-kill-switch.md). A monthly Cloud Billing budget on this project
 * (budgetFilter by project number: an id would diff on every run, pitfall 15) with CURRENT_SPEND and
 * FORECASTED_SPEND threshold rules; every update is published to a Pub/Sub topic (schemaVersion "1.0"), which a push
 * subscription delivers, signed with an OIDC token of a dedicated account, to the gateway's
 * POST /internal/budget-alerts. The gateway checks that token against GATEWAY_BUDGET_PUSH_AUDIENCE and
 * GATEWAY_BUDGET_PUSH_SERVICE_ACCOUNT, which gateway.ts sets to the same values used here. Refused messages end in a
 * dead-letter topic instead of being redelivered for a week; its subscription keeps them, and an alert fires while any
 * wait there (monitoring.ts): a dead letter means the kill switch missed an update.
 *
 * Creating a budget needs Billing Account Administrator or Costs Manager on the billing account (pitfall 14).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { childOptions, NAMES, type Context } from "./common.js";
import type { ServiceAccountRef } from "./identities.js";

/** Cloud Billing publishes budget notifications as this account (granted publisher on the topic). */
export const BILLING_BUDGET_PUBLISHER = "serviceAccount:billing-budget-alert@system.gserviceaccount.com";

export interface BudgetArgs {
  projectNumber: pulumi.Output<string>;
  channels: readonly gcp.monitoring.NotificationChannel[];
  /** Pub/Sub's service agent (IAM member, from its ServiceIdentity): publishes dead letters. */
  pubsubAgentMember: pulumi.Input<string>;
  /** The provider of the budget itself: the quota provider (a billing account has no project to bill the call to). */
  budgetProvider: gcp.Provider;
}

export class Budget extends pulumi.ComponentResource {
  readonly topic: gcp.pubsub.Topic;
  readonly deadLetterTopic: gcp.pubsub.Topic;
  readonly budget: gcp.billing.Budget;
  /** projects/<id>/topics/<name>: known at preview. */
  readonly topicPath: string;
  readonly deadLetterTopicPath: string;

  constructor(name: string, args: BudgetArgs, ctx: Context, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:Budget", name, {}, opts);
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
        name: NAMES.budgetDeadLetterSubscription,
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

    new gcp.pubsub.TopicIAMMember(
      "dead-letter-topic-pubsub-publisher",
      { project, topic: this.deadLetterTopic.name, role: "roles/pubsub.publisher", member: args.pubsubAgentMember },
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
      { ...childOptions(this, ctx, { dependsOn: [this.topic, publisher] }), provider: args.budgetProvider },
    );
    this.registerOutputs({ topic: this.topicPath });
  }
}

export interface BudgetPushArgs {
  /** The gateway's /internal/budget-alerts URL, also the OIDC audience. */
  endpoint: pulumi.Input<string>;
  /** projects/<id>/topics/<name> of the budget topic and of its dead-letter topic. */
  topicPath: string;
  deadLetterTopicPath: string;
  pushAccount: ServiceAccountRef;
  pubsubAgentMember: pulumi.Input<string>;
  /** The invoker grant the push account needs on the gateway (and its propagation wait). */
  after: readonly pulumi.Resource[];
}

/** The push subscription to the gateway: created once the gateway (and the push account's invoker grant) exists. */
export class BudgetPush extends pulumi.ComponentResource {
  readonly subscription: gcp.pubsub.Subscription;

  constructor(name: string, args: BudgetPushArgs, ctx: Context, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:BudgetPush", name, {}, opts);
    const project = ctx.cfg.projectId;
    const push = args.pushAccount;
    this.subscription = new gcp.pubsub.Subscription(
      "budget-push",
      {
        project,
        name: `${NAMES.budgetTopic}-push`,
        topic: args.topicPath,
        ackDeadlineSeconds: 30,
        messageRetentionDuration: "604800s",
        expirationPolicy: { ttl: "" },
        retryPolicy: { minimumBackoff: "10s", maximumBackoff: "600s" },
        deadLetterPolicy: { deadLetterTopic: args.deadLetterTopicPath, maxDeliveryAttempts: 10 },
        pushConfig: {
          pushEndpoint: args.endpoint,
          oidcToken: { serviceAccountEmail: push.email, audience: args.endpoint },
        },
      },
      // Pub/Sub checks actAs on the push account when the subscription names it.
      childOptions(this, ctx, { dependsOn: [push.account, push.actAs, ...args.after] }),
    );
    // Pub/Sub's service agent moves refused messages to the dead-letter topic, which needs it to subscribe here.
    new gcp.pubsub.SubscriptionIAMMember(
      "budget-push-pubsub-subscriber",
      {
        project,
        subscription: this.subscription.name,
        role: "roles/pubsub.subscriber",
        member: args.pubsubAgentMember,
      },
      childOptions(this, ctx),
    );
    this.registerOutputs({ subscription: this.subscription.name });
  }
}
