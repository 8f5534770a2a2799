"""The analyst cue lexicon: which words, phrases, stems and token shapes belong to which cue family.

`classifier.features` counts these families per sentence and per document. The lexicon is data:
adding a word here changes what the featurizer sees (and, through the classifier package's code
version, makes trained models retrain rather than be misread).
"""

from __future__ import annotations

import re

# Cue families, in column order. Changing this tuple changes the feature layout (and the code
# version, so trained models are retrained rather than misread).
FAMILIES: tuple[str, ...] = (
    "registry_id", "doi_pmid", "named_trial", "journal", "study_attribution", "trial_design",
    "vague_study", "in_house_data", "statistic", "price", "call_to_action", "contact", "provider_voice",
    "first_person", "second_person", "family_member", "travel", "hedge", "negation", "efficacy",
    "efficacy_negated", "efficacy_question", "efficacy_reported", "benefit", "benefit_negated",
    "named_risk", "risk_negated", "safety_claim", "safety_negated", "regulator", "unapproved",
    "legitimacy_marker", "patient_story", "reported_claim", "warning", "question", "exclaim", "quote",
    "stem_cell", "cell_context", "ms", "ms_context", "topic_cooccurrence", "condition", "number", "boilerplate",
    "named_clinic", "fundraising",
)
F = {name: i for i, name in enumerate(FAMILIES)}
N_FAMILIES = len(FAMILIES)

# Families whose meaning flips inside a negation's scope, and what they become.
NEGATED = {F["efficacy"]: F["efficacy_negated"], F["benefit"]: F["benefit_negated"],
            F["named_risk"]: F["risk_negated"], F["safety_claim"]: F["safety_negated"]}
NEGATION_WINDOW = 5  # a negator up to this many tokens before a cue scopes over it

LEXICON: dict[str, str] = {}
CASED: dict[str, str] = {}
PHRASES: dict[str, list[str]] = {}  # a phrase may belong to several families ("multiple sclerosis")
PREFIXES: dict[str, str] = {}


def _words(family: str, words: str, table: dict) -> None:
    for word in words.split("|"):
        word = word.strip()
        if not word:
            continue
        if table is PHRASES:
            table.setdefault(word, [])
            if family not in table[word]:
                table[word].append(family)
        else:
            table[word] = family


# Lower-cased single tokens.
_words("trial_design", "trial|trials|randomised|randomized|randomly|placebo|phase|cohort|participants|enrolled|"
       "follow-up|controlled|blinded|endpoint|endpoints|registry|observational|sham|arm|comparator", LEXICON)
_words("study_attribution", "university|hospital|institute|professor|prof|dr|co-author|colleagues|researchers|"
       "investigators|karolinska|uppsala|northwestern|imperial|sheffield|ectrims|actrims|ebmt|cochrane|"
       "meta-analysis|abstract|presented", LEXICON)
_words("journal", "journal|lancet|jama|nejm|bmj|jnnp|peer-reviewed|published", LEXICON)
_words("statistic", "percent|per-cent|prozent", LEXICON)
_words("price", "price|prices|pricing|cost|costs|package|packages|financing|finance|financed|deposit|discount|"
       "discounts|all-inclusive|fee|fees|affordable|usd|eur|gbp|dollars|euros|pounds|instalments|installments|"
       "installment|loan|loans|coupon|promo|payment|payments|precio|preis|kosten|prix|prezzo|preço|cena|fiyat|"
       "стоимость|цена|paket|paquete|forfait", LEXICON)
_words("call_to_action", "book|booking|schedule|consultation|consultations|enquire|enquiry|inquire|inquiry|whatsapp|"
       "reserve|apply|application|register|sign-up|click|dm|message|reach|hotline|termin|contacte|contáctenos|"
       "kontakt|contattaci|appointment|evaluation|candidacy|qualify", LEXICON)
_words("second_person", "you|your|you're|you'll|yourself|you've", LEXICON)
_words("family_member", "daughter|son|husband|wife|mum|mom|mother|father|dad|sister|brother|friend|partner|"
       "grandchildren|kids", LEXICON)
_words("travel", "airport|hotel|hotels|flight|flights|visa|travel|travelled|traveled|abroad|overseas|mexico|panama|"
       "cancun|cancún|tijuana|colombia|bogota|medellín|medellin|cayman|ukraine|kyiv|kiev|turkey|istanbul|thailand|"
       "bangkok|cyprus|russia|moscow|india|delhi|bahamas|germany|china|serbia|belgrade|argentina|peru|"
       "pickup|accommodation|concierge|nights|transfers|transfer|beachfront|resort|itinerary|guadalajara|"
       "monterrey|antalya|dubai", LEXICON)
_words("hedge", "may|might|could|possibly|possible|potential|potentially|early|preliminary|pilot|uncertain|"
       "uncertainty|unclear|suggest|suggests|suggested|appear|appears|likely|unlikely|cautious|cautiously|caution|"
       "limitations|limited|small|promising|hope|hopes|hoped|speculative|puede|podría|pueden|kann|könnte|können|"
       "peut|pourrait|peuvent|può|potrebbe|possono|pode|poderia|podem|może|mogą|olabilir|может|vielleicht|"
       "quizás|peut-être|forse|talvez", LEXICON)
_words("negation", "no|not|never|none|neither|nor|cannot|can't|don't|doesn't|isn't|aren't|won't|wasn't|weren't|"
       "didn't|haven't|hasn't|without|nothing|nobody|lack|lacks|lacking|non|nicht|kein|keine|keinen|keiner|nein|"
       "nunca|jamais|pas|não|nie|не|нет|ni|sin|sans|senza|sem|değil|yok|ningún|ninguna|aucun|aucune", LEXICON)
_words("efficacy", "cure|cures|cured|curing|curative|disease-free|ms-free|symptom-free|remission|miracle|miracles|"
       "miraculous|breakthrough|breakthroughs|game-changer|game-changing|halt|halts|halted|halting|reversal|"
       "life-changing|remyelination|remyelinate|cura|curar|curación|cure-se|heilung|heilen|geheilt|heilt|"
       "guérir|guérison|guéri|guarigione|guarire|guarito|milagro|milagre|wunder|miracolo|iyileşme|tedavi|"
       "излечение|вылечить|чудо|wyleczenie|cudowny|turnaround|recovery|recovered|recovering", LEXICON)
_words("benefit", "improve|improves|improved|improvement|improvements|improving|better|benefit|benefits|"
       "beneficial|effective|efficacy|works|worked|relief|relieve|reduce|reduces|reduced|slow|slows|slowed|"
       "helps|helped|results|outcomes|gains|progress|stabilise|stabilize|stabilised|stabilized|stopped|stops|"
       "stop|mejora|mejoría|verbesserung|amélioration|miglioramento|melhora|poprawa|улучшение", LEXICON)
_words("named_risk", "infection|infections|neutropenia|neutropenic|febrile|sepsis|septic|death|deaths|died|die|dies|"
       "dying|mortality|fatal|tumour|tumours|tumor|tumors|cancer|cancers|toxicity|toxic|infertility|infertile|"
       "menopause|bleeding|haemorrhage|hemorrhage|stroke|strokes|meningitis|complication|complications|adverse|"
       "chemotherapy|chemo|thyroid|risk|risks|risky|danger|dangerous|dangers|harm|harms|harmful|seizure|seizures|"
       "paralysis|hospitalised|hospitalized|icu|nausea|encephalitis|contaminated|contamination|riesgo|riesgos|"
       "risiko|risiken|risque|risques|rischio|rischi|risco|riscos|ryzyko|risk|риск|риски|muerte|tod|décès|"
       "morte|infección|infektion|infektionen|infection|infezione|infecção|zakażenie", LEXICON)
_words("safety_claim", "safe|safely|safety|risk-free|painless|natural|all-natural|gentle|well-tolerated|harmless|"
       "non-invasive|minimally-invasive|sicher|seguro|segura|sûr|sûre|sicuro|sicura|bezpieczny|güvenli|безопасно|"
       "безопасный|tolerated|sterile", LEXICON)
_words("regulator", "fda|ema|tga|mhra|cofepris|regulator|regulators|regulatory|ftc|authorities|agency|aifa|"
       "anvisa|bfarm|swissmedic|medsafe|ansm|approved|approval|licence|license|licensed|licenced|nhs|"
       "aemps|pei|росздравнадзор", LEXICON)
_words("unapproved", "unapproved|unproven|unlicensed|unlicenced|experimental|investigational|illegal|unregulated|"
       "unauthorised|unauthorized|unregistered|untested|nicht-zugelassen|experimentell|expérimental|sperimentale|"
       "experimental|eksperymentalny", LEXICON)
_words("legitimacy_marker", "fda-registered|irb|irb-approved|gmp|gmp-certified|accredited|certified|"
       "cofepris-licensed|iso-certified|clinicaltrials|clinicaltrials.gov|jci|aabb", LEXICON)
_words("patient_story", "testimonial|testimonials|story|stories|diagnosed|wheelchair|cane|walker|walked|walking|"
       "walk|dance|danced|hike|hiked|marathon|wedding|aisle|grateful|thankful|blessed|journey|video|videos|"
       "interview|transcript", LEXICON)
_words("reported_claim", "claim|claims|claimed|claiming|advertised|advertises|advertising|advert|adverts|ad|ads|"
       "marketed|marketing|promised|promises|promise|alleged|allegedly|so-called|purported|purportedly|touted|"
       "touts|headline|headlines|caption|asserted|boasted", LEXICON)
_words("warning", "misleading|false|unsubstantiated|beware|warn|warns|warned|warning|warnings|scam|scams|myth|"
       "myths|debunk|debunked|debunking|exploit|exploitation|exploitative|predatory|fraud|fraudulent|hype|"
       "sceptical|skeptical|caveat|evidence-free|enforcement|fined|prosecuted", LEXICON)
# Relevance needs both topics. Strong terms name them; context terms only make them likelier
# ("transplant" is also hair and kidney transplants, "relapse" also leukaemia).
_words("stem_cell", "stem|stem-cell|stem-cells|hsct|ahsct|msc|mscs|mesenchymal|umbilical|exosome|exosomes|svf|"
       "stromal|ucmsc|uc-msc|uc-mscs|bmac|secretome|stammzellen|stammzelltherapie|souches|staminali|"
       "macierzyste|стволовые|стволовых|hszt|ahsct-treatment", LEXICON)
_words("cell_context", "regenerative|adipose|transplant|transplantation|transplants|transplanted|autologous|"
       "haematopoietic|hematopoietic|infusion|infusions|intrathecal|cells|trasplante|transplantation|"
       "trapianto|transplante|przeszczep|nakil|трансплантация", LEXICON)
_words("ms", "rrms|spms|ppms|rozsiane|rozsianego|rozsianym", LEXICON)
_words("ms_context", "sclerosis|myelin|demyelination|demyelinating|relapsing|relapsing-remitting|relapse|relapses|"
       "lesion|lesions|neurologist|neurologists|edss|sklerose|sclérose|sclerosi|esclerosis|esclerose|"
       "stwardnienie|skleroz|склероз|склерозом|ocrelizumab|natalizumab|alemtuzumab|dmt|dmts|neurology|"
       "neurological|mri", LEXICON)
_words("condition", "autism|als|parkinson|parkinson's|alzheimer|alzheimer's|diabetes|copd|arthritis|osteoarthritis|"
       "lupus|crohn's|neuropathy|lyme|fibromyalgia|dementia|psoriasis|asthma|epilepsy|ataxia|huntington's|"
       "cirrhosis|myasthenia|anti-aging|anti-ageing|tinnitus|glaucoma|migraine|migraines|"
       "rheumatoid|colitis|eczema|scleroderma|sciatica|emphysema|gout|hepatitis", LEXICON)
_words("first_person", "my|me|myself|mine", LEXICON)

_words("boilerplate", "sitemap|homepage|menu|login|log-in|newsletter|subscribe|cookie|cookies|privacy|copyright|"
       "tag|tags|posts|comments|share|tweet|accessibility|navigation|breadcrumb|archive|archives|rss|"
       "»|«|›|·|•", LEXICON)
LEXICON["|"] = "boilerplate"

_words("fundraising", "fundraiser|fundraising|fundraise|gofundme|crowdfunding|crowdfunder|donate|donated|donation|"
       "donations|raise|raised|raising|appeal|sponsor|sponsored|justgiving", LEXICON)
# A capitalised facility word next to a capitalised name: "Nuvacel Regenerative Center", "clinica Medivita".
FACILITY_WORDS = frozenset([
    "clinic", "clinics", "clinica", "clínica", "klinik", "klinika", "kliniği", "center", "centre", "centro",
    "institute", "instituto", "institut", "hospital", "hospitals", "medical", "sanatorium"])
NOT_NAMES = frozenset(["our", "the", "this", "that", "a", "an", "your", "my", "his", "her", "their", "its",
                        "at", "in", "of", "for", "with", "and", "or"])

# Case-sensitive single tokens (acronyms that are ordinary words in lower case).
_words("named_trial", "MIST|BEAT-MS|RAM-MS|STAR-MS|NET-MS|HALT-MS|ASTIMS|MESEMS|MSCIMS|COAST|NurOwn|ATA188", CASED)
_words("journal", "Neurology|Lancet|JAMA|NEJM|BMJ|JNNP", CASED)
_words("ms", "MS|EM|SEP|SM|РС", CASED)
_words("first_person", "I|I'm|I've|I'd|I'll", CASED)
_words("regulator", "EMA|TGA|FDA|NICE|AAN", CASED)

# Multi-word cues (lower-cased, tokenised the same way as the text).
_words("journal", "new england journal|multiple sclerosis journal|annals of neurology|nature medicine|published in|"
       "et al|systematic review|journal of|frontiers in", PHRASES)
_words("study_attribution", "researchers at|led by|according to|university of|data from|presented at|"
       "team at|scientists at", PHRASES)
_words("vague_study", "a recent study|a new study|a study|one study|a trial|a recent trial|recent research|new research|"
       "studies show|studies have shown|studies have found|studies suggest|studies found|research shows|"
       "research has shown|research suggests|research proves|scientists say|scientists have found|doctors say|"
       "experts say|clinically proven|proven to|scientifically proven|data show|data shows|evidence shows|"
       "published results|dozens of studies|many studies|numerous studies|thousands of patients|medical research|"
       "science shows|science says|studies prove|a recent clinical trial|recent clinical trial|"
       "according to research|according to studies|un estudio|eine studie|une étude|uno studio|um estudo|"
       "estudios demuestran|studien zeigen", PHRASES)
_words("in_house_data", "our data|our results|our outcomes|our own data|internal data|in-house data|our follow-up|"
       "our internal|our patient outcomes|our success rate|our statistics|of our patients|our records|"
       "patient-reported|patient reported|self-reported", PHRASES)
_words("statistic", "success rate|success rates|out of 10|out of ten|per cent|nine out of|"
       "eight out of|tasa de éxito|erfolgsquote|taux de réussite", PHRASES)
_words("price", "payment plan|payment plans|per night|price list|all inclusive|financing options|"
       "care credit|carecredit", PHRASES)
_words("call_to_action", "contact us|call us|call now|call today|free consultation|get started|request a|request your|"
       "request more|fill in|fill out|sign up|limited spots|limited places|limited availability|book now|book a|"
       "book your|schedule a|schedule your|apply now|apply today|speak to|speak with|talk to|reach out|"
       "send us|message us|get in touch|don't wait|act now|before it's too late|find out if|see if you|"
       "learn more|click here|start your|claim your|reserve your|secure your|llámenos|contáctenos|rufen sie|"
       "contactez-nous|appelez|chiamaci|entre em contato|skontaktuj się", PHRASES)
_words("provider_voice", "at our|join us|our team|our clinic|our clinics|our patients|our doctors|our physicians|"
       "our centre|our center|our protocol|our protocols|our treatment|our treatments|our facility|our program|"
       "our programme|our specialists|our medical|our lab|our laboratory|our cells|our staff|our experts|"
       "our partner|our packages|our therapy|our therapies|our physician|our doctor|our nurses|our coordinators|"
       "our patient|our approach|our procedure|our hospital|our institute|we offer|we provide|we treat|"
       "we recommend|we use|we have treated|we've treated|we specialise|we specialize|we are proud|we accept|"
       "we help|we can help|we administer|we deliver|we combine|we work|we perform|we harvest|we believe|"
       "we guarantee|we see|we have seen|we've seen|nuestra clínica|nuestros pacientes|unsere klinik|"
       "unsere patienten|notre clinique|nos patients|la nostra clinica|nossa clínica|nasza klinika|kliniğimiz|"
       "наша клиника|наши пациенты", PHRASES)
_words("first_person", "my ms|my treatment|my legs|my life|my neurologist|my walking|my balance|my energy|"
       "my symptoms|my mri|my relapses|my diagnosis|my transplant|my hsct", PHRASES)
_words("travel", "costa rica|medical tourism|medical travel|puerto vallarta|dominican republic|"
       "medical tourist|health tourism|travel package|airport pickup|airport transfer", PHRASES)
_words("hedge", "more research|further research|not yet|remains to be seen|too early|we don't know|small study|"
       "small trial|early days|results vary|not everyone|no guarantee|no guarantees|cannot guarantee|"
       "can't guarantee|not guaranteed|limited evidence|more studies|larger trials|larger studies|early stage|"
       "early-stage|proof of concept|need to be confirmed|not been proven|long-term data|noch nicht|pas encore|"
       "todavía no|ainda não|non ancora", PHRASES)
_words("efficacy", "walk again|walking again|walked again|walks again|in its tracks|stop ms|stops ms|stopped ms|"
       "stop the disease|stops the disease|stopped the disease|stop progression|stops progression|"
       "stopped progression|no new lesions|back to normal|turned it around|turn it around|switched off|"
       "switch off|beat my ms|beat ms|got my life back|my life back|success rate|game changer|life changing|"
       "disease free|free of ms|ms free|no more ms|closest thing to a cure|rid of ms|gone for good|"
       "halt progression|halts progression|reverse ms|reverses ms|reversed my|reverse the|reverses the|"
       "reversing ms|reversing the|repair the|repairs the|repair myelin|repairs myelin|rebuild myelin|"
       "regrow myelin|restore the|restores the|restored my|restore myelin|repair damaged|"
       "voltar a andar|volver a caminar|wieder laufen|remarcher|tornare a camminare", PHRASES)
_words("named_risk", "side effect|side effects|side-effect|side-effects|hair loss|intensive care|adverse events|"
       "adverse event|treatment-related|transplant-related|efectos secundarios|effets secondaires|"
       "nebenwirkungen|effetti collaterali|efeitos colaterais|skutki uboczne|yan etki|побочные эффекты", PHRASES)
_words("safety_claim", "no rejection|your own cells|own cells|minimally invasive|no downtime|non invasive|"
       "well tolerated|completely safe|totally safe|100% safe|proven safe|safe and effective|virtually no risk|"
       "no risk|no risks|risk free|no serious|excellent safety|safety profile|easily tolerated|"
       "outpatient procedure|immune privileged|immune-privileged", PHRASES)
_words("regulator", "health canada|warning letter|consumer alert|federal trade commission|food and drug|"
       "medicines agency|not approved|approved by|approved for|regulatory status", PHRASES)
_words("unapproved", "not approved|not licensed|no approval|only in trials|only within clinical trials|"
       "only in clinical trials|outside of clinical trials|outside clinical trials|outside a clinical trial|"
       "not been approved|has not approved|not authorised|not authorized|no licence|no license|"
       "not proven|unproven treatment|nicht zugelassen|no aprobado|non approuvé|non approvato|não aprovado",
       PHRASES)
_words("legitimacy_marker", "fda registered|registered with the fda|fda-registered lab|registered on|listed on|"
       "registered with|irb approved|gmp certified|certified lab|licensed by|cofepris licensed|"
       "government licensed|government-licensed|internationally accredited", PHRASES)
_words("patient_story", "patient story|patient stories|success story|success stories|years old|year-old|told me|"
       "told us|says she|says he|she says|he says|she said|he said|she was|he was|she can|he can|she could|"
       "he could|she walked|he walked|my story|our story|in her words|in his words|after my|since my|"
       "since her|since his|after her|after his", PHRASES)
_words("boilerplate", "read more|privacy policy|cookie policy|terms of use|all rights reserved|older posts|"
       "newer posts|back to top|skip to content|related articles|sign in|share this", PHRASES)
_words("reported_claim", "claims that|claimed that|so called|sold as|marketed as|advertised as|billed as|"
       "promoted as|described as|too good to be true", PHRASES)
_words("warning", "be wary|be careful|be cautious|red flag|red flags|warning signs|no evidence|without evidence|"
       "not supported|no proof|false hope|take advantage|lack of evidence", PHRASES)
_words("cell_context", "cell therapy|cell therapies|cell-based|cell based|bone marrow|regenerative medicine", PHRASES)
_words("stem_cell", "stem cell|stem cells|cord blood|"
       "cord tissue|células madre|cellules souches|cellule staminali|células-tronco|células tronco|"
       "komórki macierzyste|kök hücre|стволовые клетки", PHRASES)
_words("ms", "multiple sclerosis|esclerosis múltiple|multiple sklerose|sclérose en plaques|sclerosi multipla|"
       "esclerose múltipla|stwardnienie rozsiane|multipl skleroz|рассеянный склероз|рассеянного склероза", PHRASES)
_words("condition", "cerebral palsy|spinal cord injury|spinal cord injuries|heart failure|kidney disease|"
       "erectile dysfunction|long covid|traumatic brain injury|muscular dystrophy|macular degeneration|"
       "back pain|knee pain|joint pain|down syndrome|ulcerative colitis|liver disease|"
       "lung disease|sports injuries|chronic pain|multiple sclerosis|autoimmune diseases|"
       "autoimmune disease|neurological conditions|neurological disorders", PHRASES)

# Word-start stems: any token beginning with one of these belongs to the family.
_words("efficacy", "revers|eliminat|regenerat|restor|rebuild|repair|heal|transform|eradicat|regener", PREFIXES)
_words("stem_cell", "stammzell|стволов|staminal|macierzyst|mesenquim|mesenchym|mezenchym|mesenchim", PREFIXES)
_words("ms", "рассеянн|rozsian", PREFIXES)
_words("ms_context", "demyelin|remyelin|skleroz|склероз|esclero|scleros", PREFIXES)
_words("warning", "mislead", PREFIXES)

# Structured tokens (registry IDs, PMC ids, "XYZ-MS" trial acronyms), checked once per new token.
REGISTRY_TOKEN = re.compile(
    r"(?:NCT|ISRCTN|ACTRN|ChiCTR|EUCTR|DRKS|jRCT|IRCT|CTRI)-?\d{5,}|\d{4}-\d{6}-\d{2}(?:-\d{2})?$", re.IGNORECASE)
PMC_TOKEN = re.compile(r"PMC\d{5,}$")
TRIAL_TOKEN = re.compile(r"[A-Z][A-Z0-9]{1,7}-MS$")
_words("registry_id", "nct|isrctn|eudract|actrn|chictr|euctr|drks|ctri", LEXICON)
_words("doi_pmid", "doi|pmid|pubmed", LEXICON)
_words("contact", "www|http|https|com|e-mail|email|phone|tel|telephone|whatsapp|+|@", LEXICON)
_words("quote", "\"|“|”|«|»|„", LEXICON)
