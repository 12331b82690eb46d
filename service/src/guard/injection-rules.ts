/**
 * The prompt-injection scorer's rules: data, kept apart from the engine in injection.ts. Each rule is one signal
 * (an id, a category, a weight in (0, 1), and a linear regular expression over one normalised view of the text).
 * How views, anchors and weights work is in injection.ts's opening comment; docs/injection.md says how to add a rule
 * and a labelled case together.
 */
import type { InjectionCategory } from "./injection.js";

/**
 * Where a rule is matched and how it is anchored (the anchor is added here, not written in the rule):
 * - "w": the words view; the rule starts at a word, which there always follows a space;
 * - "line": the normalised view, at the start of a line (fake transcript turns, headers);
 * - "word": the normalised view, at a word boundary (commands, URLs and punctuation matter);
 * - "literal": the normalised view, unanchored; the rule starts with a distinctive literal ("<|", "/etc/", CJK).
 * A rule may be split across groups under one id; it still counts once.
 */
export type Group = "w" | "line" | "word" | "literal";
export interface Rule {
  id: string;
  category: InjectionCategory;
  weight: number;
  group: Group;
  source: string;
}

const O: InjectionCategory = "instruction-override";
const X: InjectionCategory = "prompt-exfiltration";
const R: InjectionCategory = "role-confusion";
const E: InjectionCategory = "encoded-payload";
const T: InjectionCategory = "tool-abuse";

const rule =
  (group: Group) =>
  (id: string, category: InjectionCategory, weight: number, source: string): Rule => ({
    id,
    category,
    weight,
    group,
    source,
  });
const w = rule("w");
const line = rule("line");
const word = rule("word");
const literal = rule("literal");

// Building blocks for the "w" view, where words are separated by exactly one space.
const GAP = (k: number) => `(?:\\S+ ){0,${k}}?`;
const OVERRIDE_VERB = "(?:ignore|disregard|forget|overlook|bypass|override|skip|drop|discard|set aside|put aside)";
const QUALIFIER =
  "(?:previous|prior|above|earlier|preceding|former|original|initial|old|existing|system|developer|developers|your|my|all|any|these|those)";
const RULE_NOUN =
  "(?:instructions?|prompts?|directions|directives?|rules|guidelines|guidance|commands|orders|programming|restrictions|constraints|polic(?:y|ies)|system prompt)";
// What "the system prompt" is called. "Full configuration" or "original message" are ordinary requests, so the bare
// qualifiers are paired with prompt-like nouns only.
const SECRET_TARGET =
  "(?:(?:system|sys|initial|original|hidden|secret|developer|pre|confidential|operator) ?(?:prompt|preprompt|instructions?|directives?|guidelines|preamble)|(?:system|hidden|secret|confidential) (?:message|rules))";

export const RULES: readonly Rule[] = [
  // --- instruction override ---
  w("override-previous", O, 0.85, `${OVERRIDE_VERB} ${GAP(5)}${QUALIFIER} ${GAP(2)}${RULE_NOUN}\\b`),
  w(
    "override-everything-before",
    O,
    0.75,
    `${OVERRIDE_VERB} (?:everything|anything|all|whatever) ${GAP(4)}(?:above|before|earlier|previously|so far|prior)\\b`,
  ),
  w(
    "override-conversation",
    O,
    0.4,
    `${OVERRIDE_VERB} (?:the |our |this )?(?:previous |prior |above |earlier )conversation\\b`,
  ),
  w("set-aside", O, 0.8, `(?:set|put|push|leave) ${GAP(3)}${RULE_NOUN} (?:to one side|aside|behind)\\b`),
  w(
    "override-developer-message",
    O,
    0.8,
    `${OVERRIDE_VERB} (?:the |your )?(?:developer|developers|system|operator|admin|administrator)(?: s)? (?:message|messages|instructions|prompt|rules|note|configuration|settings)\\b`,
  ),
  w(
    "context-irrelevant",
    O,
    0.7,
    `(?:before|above|prior to) (?:this|my) (?:message|point|line) (?:is|are) (?:now )?(?:no longer relevant|irrelevant|not relevant|void|cancell?ed|obsolete|invalid|null)\\b`,
  ),
  w(
    "priority-over-operator",
    O,
    0.6,
    `(?:higher|more|greater|top) priority (?:than|over) (?:your |the |any )?(?:operator|system|developer|instructions|rules|configuration|guidelines|previous)`,
  ),
  w("only-rule-now", O, 0.5, `(?:the|your) only (?:rule|instruction|task|goal|job) (?:now |from now on )?is\\b`),
  w("when-the-user-asks", O, 0.35, `when (?:the )?users? (?:asks?|says?|requests?|mentions?|types?|writes?)\\b`),
  w(
    "steer-the-user",
    O,
    0.3,
    `(?:tell|inform|convince|persuade|point|direct|redirect) (?:the user|users|them) (?:that|to)\\b`,
  ),
  w(
    "stop-following",
    O,
    0.8,
    `(?:stop|quit) (?:following|obeying|listening to|adhering to) ${GAP(2)}(?:instructions|rules|guidelines|system|developer|prompt)`,
  ),
  w(
    "do-not-follow",
    O,
    0.8,
    `(?:do not|don t|dont|never) (?:follow|obey|listen to|adhere to) ${GAP(3)}(?:previous|prior|above|earlier|system|your|the developer)\\b`,
  ),
  w(
    "rules-void",
    O,
    0.75,
    `(?:instructions|rules|guidelines|directives|policies|restrictions) ${GAP(5)}(?:are|were|have been|has been|is) (?:now )?(?:void|cancell?ed|revoked|outdated|obsolete|lifted|suspended|null|overridden|a test|no longer (?:valid|in effect|active))\\b`,
  ),
  w("rules-no-longer-apply", O, 0.75, `(?:instructions|rules|guidelines|restrictions) no longer apply\\b`),
  w(
    "no-previous-instructions",
    O,
    0.7,
    `you have no (?:previous |prior |more |other )?(?:instructions|rules|restrictions|guidelines)\\b`,
  ),
  word(
    "new-instructions-you",
    O,
    0.7,
    `new (?:instructions?|directives?|rules|task|policy|orders) ?[:.-] ?(?:you|your|the assistant|assistant)\\b`,
  ),
  word("new-instructions-header", O, 0.35, `new (?:instructions?|directives?|rules|policy|orders) ?:`),
  w(
    "your-new-task",
    O,
    0.5,
    `your (?:only|real|new|true|actual|sole) (?:instruction|instructions|task|goal|directive|job|purpose|mission|objective)\\b`,
  ),
  w("from-now-on-you", O, 0.55, `from (?:now on|this point(?: on| forward)?|here on) (?:you|your)\\b`),
  w(
    "no-longer-bound",
    O,
    0.8,
    `(?:you are|you re|you) no longer (?:bound|restricted|limited|required|constrained|an ai|a language model|chatgpt|gemini)\\b`,
  ),
  w(
    "instead-hijack",
    O,
    0.4,
    `(?:ignore|disregard|forget|skip|stop) ${GAP(5)}and (?:instead|rather|only) (?:say|write|output|print|respond|reply|tell|do)\\b`,
  ),
  w("pwned-marker", O, 0.3, `(?:pwned|i have been (?:hacked|pwned)|access granted)\\b`),
  w(
    "obey-me",
    O,
    0.4,
    `(?:you (?:will |must )?obey (?:me|only)|obey me|treat this message as your only|(?:take|follow|accept) (?:orders|instructions|commands) only from me|only (?:take|follow|obey|listen to) (?:orders |instructions |commands )?(?:from )?me)\\b`,
  ),
  w(
    "address-the-ai",
    O,
    0.5,
    `(?:note|message|notice|attention|important|instructions?|hidden note) ${GAP(2)}(?:to|for) (?:the |any |all )?(?:ai|assistant|llm|model|chatbot|bot|agent)s?\\b`,
  ),
  w(
    "ai-reading-this",
    O,
    0.5,
    `(?:ai|assistant|llm|chatbot|agent|model)s? (?:reading|processing|summari[sz]ing|parsing|viewing|seeing) this\\b`,
  ),
  word(
    "attention-assistant",
    O,
    0.5,
    `(?:attention |important |note )?(?:ai|assistant|llm|ai agents?|ai assistants?|ai models?|language models?) ?[,:] ?(?:use|call|send|ignore|disregard|forget|before|you must|the previous|reveal|reply|respond|answer|say|output|include|write|tell)`,
  ),
  w(
    "assistant-must",
    O,
    0.5,
    `(?:the )?(?:assistant|ai|model) must (?:now )?(?:call|send|use|ignore|reveal|comply|obey|forward|email)\\b`,
  ),
  w(
    "override-foreign",
    O,
    0.8,
    "(?:ignorez|oubliez) (?:toutes )?(?:les )?(?:instructions|consignes)|instructions pr[ée]c[ée]dentes|(?:ignora|olvida) (?:todas )?(?:las )?instrucciones|instrucciones (?:anteriores|previas)|ignora (?:tutte )?(?:le )?istruzioni|istruzioni precedenti|(?:vergiss|ignoriere) (?:alle )?(?:vorherigen |bisherigen )?anweisungen|vorherigen anweisungen|olvida (?:lo que te (?:dijeron|han dicho)|tus (?:reglas|instrucciones))|vergiss (?:deine|ihre|alle) (?:regeln|anweisungen|vorgaben)",
  ),
  // CJK has no spaces between words, so these are "n" rules (unanchored).
  literal("override-cjk", O, 0.8, "忽略(?:之前|以上|所有)|前の指示を無視"),

  // --- prompt exfiltration ---
  w(
    "reveal-system-prompt",
    X,
    0.85,
    `(?:reveal|print|show|display|output|repeat|recite|dump|leak|expose|disclose|share|tell me|give me|write out|spell out|paste|echo|return|list|translate|quote|type out|send|describe|revealing|printing|showing|outputting|repeating|sharing|disclosing|leaking|dumping) ${GAP(5)}${SECRET_TARGET}\\b`,
  ),
  w("your-system-prompt", X, 0.6, `your (?:\\S+ )?${SECRET_TARGET}\\b`),
  w(
    "verb-your-instructions",
    X,
    0.55,
    `(?:reveal|print|show|display|output|repeat|recite|dump|leak|expose|disclose|echo|return|summari[sz]e|spell out|paste|describe) ${GAP(4)}(?:your|the|my) (?:context|instructions|prompt|configuration|rules|guidelines)\\b`,
  ),
  w(
    "prompt-you-were-given",
    X,
    0.7,
    `(?:prompt|instructions|rules|directions|directives|guidelines|preamble) (?:that )?you (?:were|have been|ve been) (?:given|initiali[sz]ed with|started with|configured with|told|provided)\\b`,
  ),
  w(
    "what-were-you-told",
    X,
    0.75,
    `(?:what|everything|all|anything) (?:that )?(?:were |have )?you (?:were |have been |ve been |been )?(?:told|instructed|programmed|given) ${GAP(2)}(?:before|initially|originally|at the (?:start|beginning)|by the (?:developer|operator|system|admin))\\b`,
  ),
  w(
    "rules-were-you-given",
    X,
    0.6,
    `(?:rules|instructions|guidelines|directives) (?:were|have|did) you (?:been )?(?:given|told|provided|receive)\\b`,
  ),
  w(
    "text-above-all",
    X,
    0.6,
    `(?:repeat|print|output|show|echo|copy|return|write|reproduce|dump) (?:back )?(?:all |everything |all the \\S+ )(?:above|before this|preceding|that came before)\\b`,
  ),
  w(
    "text-above",
    X,
    0.4,
    `(?:repeat|print|output|show|echo|copy|return|reproduce) (?:back )?(?:the )?(?:text|words|content|contents|lines|messages) (?:above|before this|preceding)\\b`,
  ),
  w("starting-with-you-are", X, 0.5, `starting with (?:the )?(?:phrase |words? )?you are\\b`),
  w(
    "completeness-cue",
    X,
    0.35,
    `(?:include everything|verbatim|word for word|exactly as written|one character per line|in full|without omitting anything)\\b`,
  ),
  w("your-context-window", X, 0.5, `your (?:context window|context|memory before|conversation history)\\b`),
  w(
    "first-line-of-prompt",
    X,
    0.65,
    `(?:first|last|opening) ${GAP(2)}(?:line|lines|sentence|words?|paragraph) of your (?:\\S+ )?(?:prompt|instructions|system)\\b`,
  ),
  w(
    "directions-you-got",
    X,
    0.35,
    `(?:prompt|instructions|rules|directions|directives|guidelines|preamble) (?:that )?you (?:got|received)\\b`,
  ),
  w(
    "who-configured-you",
    X,
    0.45,
    `(?:whoever|the person who|the people who|those who|the one who|the company that) (?:configured|set up|programmed|deployed|built|created|trained) you\\b`,
  ),
  w(
    "text-before-my-message",
    X,
    0.6,
    `(?:repeat|print|output|show|echo|copy|return|reproduce|dump|list|paste) ${GAP(4)}(?:text|words|tokens|messages|content|everything|instructions|all) ${GAP(3)}(?:before|prior to|above|preceding) (?:this|my|the) (?:first )?(?:message|question|line|conversation|prompt)\\b|(?:text|words|content|everything) (?:that )?(?:appears?|came|comes|is) (?:before|above|prior to) my (?:first )?(?:message|question)\\b`,
  ),
  w(
    "here-is-the-system-prompt",
    X,
    0.5,
    `here is (?:the|my) (?:system prompt|initial instructions|hidden instructions)\\b`,
  ),
  w(
    "exfil-foreign",
    X,
    0.6,
    "(?:tu|tus|tes|vos|votre|ton|deine?n?|ihre?n?) (?:prompt|instructions?|instrucciones|anweisungen|systemprompt|consignes|reglas|règles|regeln)|(?:reglas|instrucciones) ocultas|prompt (?:del |du )?(?:sistema|système|systeme)|instructions initiales",
  ),
  literal("exfil-cjk", X, 0.6, "あなたの(?:システムプロンプト|指示|プロンプト)|你的(?:系统提示|指令)"),

  // --- role confusion ---
  line(
    "fake-system-turn",
    R,
    0.75,
    `(?:system|sys) ?: ?(?:you|the assistant|assistant|ignore|disregard|override|new|from now on|all)\\b`,
  ),
  line("line-start-system", R, 0.3, `system ?:`),
  line(
    "forged-assistant-turn",
    R,
    0.55,
    `(?:assistant|model|ai|gpt|chatgpt|gemini) ?: ?(?:sure|understood|ok|okay|of course|certainly|i will|i ll|i'll|here is)\\b`,
  ),
  line("human-turn", R, 0.3, `(?:human|user) ?:`),
  literal(
    "chat-template-role",
    R,
    0.8,
    `<\\|im_start\\|> ?(?:system|assistant)|<\\|(?:system|assistant)\\|>|<\\|start_header_id\\|> ?system|<<sys>>[^<]{0,500}<</sys>>|\\[inst\\][^[]{0,2000}\\[/inst\\]|<start_of_turn> ?(?:system|model)`,
  ),
  literal(
    "chat-template-token",
    R,
    0.35,
    `<\\|(?:im_start|im_end|endoftext|begin_of_text|eot_id|user)\\|>|<<sys>>|\\[/?inst\\]|<start_of_turn>|<end_of_turn>`,
  ),
  line(
    "markdown-system-header",
    R,
    0.75,
    `#{1,4} ?(?:system|instruction|instructions) ?:?[ \\n]{1,2}(?:\\S+ ){0,3}?(?:you|assistant|must|ignore|comply|obey|override)\\b`,
  ),
  literal(
    "xml-system-instruction",
    R,
    0.7,
    `(?<!<)<(?:system|sys|admin|developer|system_prompt)>(?!>) ?(?:\\S+ ){0,3}?(?:you|new|policy|ignore|assistant|must|reveal|the user)\\b`,
  ),
  literal("xml-system-tag", R, 0.35, `(?<!<)<\\/?(?:system|sys|admin|developer|instructions?|system_prompt)>(?!>)`),
  literal("bracket-system", R, 0.55, `\\[\\[?(?:system|admin|developer|root|sudo)\\]\\]?`),
  literal("json-system-role", R, 0.2, `"role" ?: ?"system"`),
  line(
    "fake-banner",
    R,
    0.45,
    `(?:system|admin|developer|security|maintenance) (?:notice|message|alert|update|announcement|mode) ?:`,
  ),
  w(
    "fake-delimiter",
    R,
    0.45,
    `(?:end|close) of (?:the )?(?:user )?(?:input|prompt|message|document)\\b|(?:begin|start|beginning) (?:of )?(?:the )?(?:system|admin|developer|new instructions|system prompt)\\b`,
  ),
  w(
    "stay-in-character",
    R,
    0.45,
    `(?:stay|remain|keep) in character|never break character|(?:don t|do not) break character`,
  ),
  w(
    "unlocked-persona",
    R,
    0.6,
    `(?:you are|you re|act as|become|playing|called|named|known as) (?:now )?(?:an? )?(?:\\S+ )?(?:unlocked|unleashed|unbound|unchained|jailbroken)\\b`,
  ),
  w("enter-mode", R, 0.3, `(?:enter|switch to|activate|go into) (?!developer )(?:\\S+ )?mode\\b`),
  w(
    "authority-claim",
    R,
    0.35,
    `i am (?:your|the) (?:creator|developer|owner|admin|administrator|maker|programmer|operator)\\b|i authori[sz]e you to\\b`,
  ),
  w("system-override", R, 0.6, `(?:system|admin|developer|security) override\\b`),
  w(
    "jailbreak-persona",
    R,
    0.85,
    `(?:you are|you re|act as|pretend (?:to be|you are)|roleplay as|role play as|become|tu es maintenant|tu es|eres ahora|du bist jetzt) (?:now )?(?:dan|stan|aim|evilbot|dude|mongo tom|an? (?:unrestricted|unfiltered|uncensored|jailbroken|evil|rogue) (?:ai|assistant|chatbot|model|version))\\b`,
  ),
  w("do-anything-now", R, 0.7, `do anything now\\b`),
  w(
    "jailbreak-mode",
    R,
    0.6,
    `(?:jailbreak mode|jailbroken|dan mode|god mode|sudo mode|admin mode|unrestricted mode|developer mode (?:is )?(?:enabled|activated))\\b`,
  ),
  w("developer-mode", R, 0.3, `developer mode\\b`),
  w(
    "not-bound-by",
    R,
    0.45,
    `not bound by (?:any |your |the )?(?:rules|guidelines|restrictions|policies|polic|ethics)`,
  ),
  w(
    "no-rules-traits",
    R,
    0.45,
    `(?:no rules|no restrictions|no limits|no filters|no content policy|no ethical|without (?:any )?(?:rules|restrictions|limits|limitations|filters|filtering|censorship|content policy|ethical guidelines|warnings|caveats)|unrestricted|unfiltered|uncensored|never refuses?|broken free|freed from|answers? anything|can say anything|sans aucune restriction|sin restricciones|sin limitaciones|ohne einschränkungen)\\b`,
  ),
  w(
    "pretend-ai",
    R,
    0.45,
    `(?:pretend|imagine|act as if|roleplay|role play|simulate) ${GAP(3)}(?:an? )?(?:ai|chatbot|assistant|language model) (?:that|which|who|without|with no|called|named)\\b`,
  ),
  w("grandma-exploit", R, 0.7, `act as my (?:deceased|dead|late) (?:grandmother|grandma|grandfather|grandpa)\\b`),
  w(
    "filters-off",
    R,
    0.5,
    `(?:safety|content|moderation) (?:filters?|checks?|layers?|guardrails?|systems?|restrictions?|polic(?:y|ies)) (?:are |is |have been |has been )?(?:now |temporarily )?(?:off|disabled|suspended|removed|lifted|bypassed|deactivated)\\b|(?:turn off|disable|deactivate|remove|bypass) (?:the |your |all |any )?(?:moderation|safety|filters|content filters?|guardrails|safety (?:filters?|layers?|checks?))`,
  ),

  // --- encoded payloads (the decoders add their own signals) ---
  w(
    "decode-and-obey",
    E,
    0.5,
    `(?:decode|decipher|deobfuscate|unscramble|read (?:that|this|it) backwards|reverse|interpret|convert) ${GAP(6)}(?:and|then) ${GAP(2)}(?:follow|execute|obey|comply|run|apply|do (?:what|as) it says|act on)\\b|execute the following (?:hex|base64|encoded|binary)\\b`,
  ),

  word("hidden-html", E, 0.35, `display ?: ?none|visibility ?: ?hidden|font-size ?: ?0(?:px)?\\b|opacity ?: ?0\\b`),

  // --- tool abuse ---
  w(
    "call-tool",
    T,
    0.45,
    `(?:call|invoke|trigger) (?:the |your |a |tool )?${GAP(3)}(?:tool|function|plugin|action)\\b`,
  ),
  word(
    "call-named-function",
    T,
    0.45,
    `(?:call|invoke|trigger) \`?[a-z]+(?:_[a-z]+)+\`? (?:with|now|tool|function|for|on|using|to)\\b`,
  ),
  w(
    "use-tool-to",
    T,
    0.45,
    `(?:use|run) (?:the |your |a )?${GAP(2)}(?:tool|plugin|interpreter|terminal|shell|browser) ${GAP(2)}(?:to|and)\\b`,
  ),
  w(
    "in-your-tool",
    T,
    0.35,
    `(?:in|with|using|via|through) (?:your|the) (?:\\S+ )?(?:tool|interpreter|terminal|shell|sandbox)\\b`,
  ),
  w(
    "elevated-user",
    T,
    0.35,
    `the user (?:has|is|now has) (?:an? )?(?:admin|administrator|root|elevated|superuser)\\b|you may now (?:call|use|run|delete|execute)\\b`,
  ),
  word(
    "exfil-send",
    T,
    0.55,
    `(?:send|forward|post|upload|email|e-mail|transmit|exfiltrate|leak|copy|submit|share) (?:\\S+ ){0,7}?(?:to|at|into) ?[:=]? ?(?:'|"|this (?:webhook|url|link|endpoint|address):? )?(?:https?://|ftp://|www\\.|[a-z0-9._-]{1,64}@[a-z0-9-]{1,64}\\.[a-z])`,
  ),
  literal(
    "url-templated-exfil",
    T,
    0.6,
    `https?://[^\\s)]{0,200}?[?&][a-z0-9_]{0,30}=(?:\\{\\{|<|\\$\\{|\\[|\\)| ?$| (?:followed by|and append|\\+))`,
  ),
  word("pipe-to-shell", T, 0.35, `(?:curl|wget) [^|\\n]{0,200}\\| ?(?:sudo )?(?:ba|z|da)?sh\\b`),
  word(
    "imperative-shell",
    T,
    0.45,
    `(?:run|execute|exec)(?: this| the following| these)?(?: shell| bash| terminal| system)?(?: commands?| scripts?)?(?: for me)? ?: |(?:run|execute) (?:bash|sh|zsh|sudo|rm|curl|wget|nc|powershell) |führe (?:diesen|den folgenden) befehl aus|ejecuta (?:este|el siguiente) comando|exécute(?:z)? (?:cette|la) commande`,
  ),
  word(
    "destructive-rm",
    T,
    0.6,
    `rm -(?:rf|fr|r -f|f -r) (?:/(?:\\s|$|\\*)|~(?:[\\s'"/)]|$)|/home\\b|--no-preserve-root|\\$home\\b)|rmtree\\(['"]?[/~]['"]?\\)`,
  ),
  word("reverse-shell", T, 0.7, `nc(?:at)? -e /bin/(?:ba)?sh\\b|bash -i >&|mkfifo /tmp/`),
  literal("reverse-shell", T, 0.7, "/dev/tcp/"),
  word("download-exec", T, 0.6, `(?:wget|curl) [^\\n]{0,200}?(?:&&|;) ?chmod \\+x\\b`),
  word("chmod-root", T, 0.5, `chmod -r 777 /(?:\\s|$|\`)`),
  literal("sensitive-file", T, 0.4, `/etc/(?:passwd|shadow|sudoers)\\b|id_rsa\\b|\\.pem\\b|\\.ssh/|\\.aws/credentials`),
  word(
    "os-system",
    T,
    0.35,
    `os\\.system\\(|shutil\\.rmtree\\(|subprocess\\.(?:call|run|popen)\\([^)]{0,100}shell ?= ?true|powershell -e(?:nc)?\\b`,
  ),
  w("drop-table", T, 0.2, `drop table\\b`),
  w(
    "secret-object",
    T,
    0.2,
    `(?:api keys?|passwords?|credentials|private keys?|session tokens?|cookies|access tokens?|environment variables|env vars)\\b`,
  ),
  w(
    "conversation-object",
    T,
    0.3,
    `(?:conversation history|chat history|chat log|full conversation|conversation transcript|entire conversation|the user s contacts|all contacts|(?:every|each) (?:address|contact|recipient) in (?:my|the user s|your) (?:contacts|address book|contact list)|all of the user s (?:saved )?contacts|all (?:my|the user s) (?:saved )?contacts)\\b`,
  ),
  w(
    "covert",
    T,
    0.35,
    `(?:don t mention (?:it|this) to the user|do not (?:tell|inform|mention (?:it |this )?to) the user|without telling the user|without (?:user )?confirmation|no confirmation needed|without asking|without mentioning (?:it|this)|don t tell (?:the user|anyone))\\b`,
  ),
  w("money-move", T, 0.4, `(?:transfer funds|payments transfer|wire (?:the )?money|transfer \\$?\\d+)\\b`),
];
