package corpus

// grammarSource is the corpus grammar (DSL described in grammar.go).
//
// Design constraints, which the tests check:
//   - every review sentence expresses the document's sentiment, topic and
//     register (each sentence shape has a topic word, a sentiment word or
//     phrase, and a register marker: an intensifier, an opener, a contraction
//     or a register-specific construction);
//   - word classes that carry different attribute values are disjoint, so a
//     sentence's attributes are recoverable from its words alone;
//   - the grammar is (nearly) unambiguous, so the log-probability of the
//     generator's choices equals the log-probability of the text; the exact
//     parser sums over derivations anyway.
const grammarSource = `
# ===================================================================
# Topic lexicon. Each topic has two aspect groups {g}: nouns of a group
# take that group's adjectives, so "the waiter was rude" but never
# "the waiter was greasy".
# ===================================================================
# The place noun {p} is chosen once per document, so a review keeps
# talking about "this bistro" (or "this diner") throughout.
@tag PLACE_{t}_{p} topic={t}
PLACE_restaurant_1 -> restaurant
PLACE_restaurant_2 -> bistro
PLACE_restaurant_3 -> diner
PLACE_restaurant_4 -> cafe
PLACE_hotel_1 -> hotel
PLACE_hotel_2 -> inn
PLACE_hotel_3 -> resort
PLACE_hotel_4 -> motel
PLACE_film_1 -> film
PLACE_film_2 -> movie
PLACE_film_3 -> thriller
PLACE_film_4 -> comedy
PLACE_gadget_1 -> gadget
PLACE_gadget_2 -> device
PLACE_gadget_3 -> laptop
PLACE_gadget_4 -> computer

@tag NS_{t}_{g} topic={t}
@tag NP_{t}_{g} topic={t}
@tag AT_{t}_{g}_{s} topic={t} sentiment={s}

NS_restaurant_1 -> soup | pasta | steak | dessert | salad | pizza | bread | curry
NP_restaurant_1 -> noodles | fries | dumplings | portions | desserts | drinks
AT_restaurant_1_positive -> delicious | tasty | fresh | flavorful | scrumptious
AT_restaurant_1_negative -> bland | greasy | cold | tasteless | overpriced
NS_restaurant_2 -> waiter | service | chef | hostess | bartender
NP_restaurant_2 -> waiters | cooks | waitresses
AT_restaurant_2_positive -> friendly | attentive | cheerful | polite | warm
AT_restaurant_2_negative -> rude | slow | careless | sloppy | unfriendly

NS_hotel_1 -> room | bed | bathroom | suite | mattress | balcony
NP_hotel_1 -> rooms | towels | sheets | pillows | carpets
AT_hotel_1_positive -> spotless | comfortable | clean | cozy | immaculate
AT_hotel_1_negative -> dirty | shabby | dusty | stained | worn
NS_hotel_2 -> receptionist | concierge | manager | porter | housekeeper
NP_hotel_2 -> staff | cleaners | receptionists
AT_hotel_2_positive -> welcoming | courteous | accommodating | efficient | gracious
AT_hotel_2_negative -> unhelpful | dismissive | grumpy | impolite | indifferent

NS_film_1 -> plot | script | story | climax | soundtrack | dialogue | pacing
NP_film_1 -> twists | scenes | effects | songs | visuals
AT_film_1_positive -> gripping | clever | moving | stunning | thrilling
AT_film_1_negative -> predictable | confusing | tedious | boring | clumsy
NS_film_2 -> hero | villain | director | cast | narrator
NP_film_2 -> actors | characters | performances
AT_film_2_positive -> convincing | charismatic | talented | likable | memorable
AT_film_2_negative -> wooden | unconvincing | lifeless | annoying | forgettable

NS_gadget_1 -> software | processor | system | interface | camera
NP_gadget_1 -> apps | updates | downloads
AT_gadget_1_positive -> fast | reliable | smooth | responsive | snappy
AT_gadget_1_negative -> laggy | buggy | unreliable | sluggish | glitchy
NS_gadget_2 -> screen | keyboard | case | design | hinge | display
NP_gadget_2 -> buttons | ports | speakers | edges
AT_gadget_2_positive -> sleek | sturdy | solid | elegant | polished
AT_gadget_2_negative -> flimsy | clunky | cheap | fragile | ugly

# Prepositions and verbs tied to a topic.
PREP_restaurant -> at
PREP_hotel -> at
PREP_film -> in
PREP_gadget -> on

@tag VISIT_{t} topic={t}
VISIT_restaurant -> ate at | had dinner at | had lunch at | tried
VISIT_hotel      -> stayed at | spent a night at | spent the weekend at | booked
VISIT_film       -> watched | saw | streamed | rented
VISIT_gadget     -> bought | ordered | picked up | got

@tag VISITING_{t} topic={t}
VISITING_restaurant -> dining at | eating at
VISITING_hotel      -> staying at | sleeping at
VISITING_film       -> watching | seeing
VISITING_gadget     -> testing | using

@tag MYEXP_{t}_{p} topic={t}
MYEXP_restaurant_{p} -> my dinner at this $PLACE_restaurant_{p} | my lunch at this $PLACE_restaurant_{p}
MYEXP_hotel_{p}      -> my stay at this $PLACE_hotel_{p} | my weekend at this $PLACE_hotel_{p}
MYEXP_film_{p}       -> my first viewing of this $PLACE_film_{p} | my evening with this $PLACE_film_{p}
MYEXP_gadget_{p}     -> my first week with this $PLACE_gadget_{p} | my first month with this $PLACE_gadget_{p}

@tag AGAIN_{t} topic={t}
AGAIN_restaurant -> eat here again | dine here again
AGAIN_hotel      -> stay here again | book a room here again
AGAIN_film       -> watch it again | see it again
AGAIN_gadget     -> buy it again | use it again

@tag SEEN_{t}_{g} topic={t}
SEEN_restaurant_1 -> had | tasted
SEEN_restaurant_2 -> met | dealt with
SEEN_hotel_1 -> seen
SEEN_hotel_2 -> met | dealt with
SEEN_film_1 -> seen | heard
SEEN_film_2 -> seen
SEEN_gadget_1 -> used
SEEN_gadget_2 -> seen | used

@tag TAIL_{t} topic={t}
TAIL_restaurant -> that night | at dinner
TAIL_hotel      -> throughout my stay | every morning
TAIL_film       -> from start to finish | the whole time
TAIL_gadget     -> from day one | right out of the box
TAILOPT_{t} -> [3] ~ | $TAIL_{t}

TIME -> last week | last month | yesterday | on Friday | over the weekend | a few days ago

# ===================================================================
# Sentiment and register lexicon.
# ===================================================================
@tag ADJ_{s}_{r} sentiment={s} register={r}
ADJ_positive_formal -> excellent | exceptional | delightful | splendid | admirable | exquisite | impeccable | superb
ADJ_positive_casual -> awesome | amazing | great | cool | fantastic | incredible | sweet | epic
ADJ_negative_formal -> dreadful | deplorable | unsatisfactory | inadequate | disappointing | regrettable | mediocre | lamentable
ADJ_negative_casual -> awful | terrible | lousy | crappy | horrible | bad | gross | lame

@tag INT_{r} register={r}
INT_formal -> truly | remarkably | rather | quite | particularly | genuinely
INT_casual -> really | super | totally | pretty | so | kinda
# Intensifiers that can follow an article ("a truly", never "a quite").
@tag INTA_{r} register={r}
INTA_formal -> truly | remarkably | rather | particularly | genuinely
INTA_casual -> really | super | pretty | totally

@tag OPENER_{r} register={r}
OPENER_formal -> I must say , | in my opinion , | on the whole , | in all honesty , | to be candid , | it must be said that | overall ,
OPENER_casual -> honestly , | seriously , | man , | dude , | wow , | okay , | not gonna lie , | oh man , | yeah , | real talk ,

@tag SOPENER_{s}_{r} sentiment={s} register={r}
SOPENER_positive_formal -> I am pleased to report that | I was delighted to find that | happily ,
SOPENER_negative_formal -> I regret to report that | I was dismayed to find that | regrettably ,
SOPENER_positive_casual -> gotta say , | good news , | yay ,
SOPENER_negative_casual -> ugh , | yikes , | oof ,

@tag LIKE_{s}_{r} sentiment={s} register={r}
LIKE_positive_formal -> thoroughly enjoyed | greatly appreciated | was impressed by | was charmed by
LIKE_negative_formal -> was disappointed by | did not care for | was unimpressed by | was displeased with
LIKE_positive_casual -> loved | adored | was obsessed with | was crazy about
LIKE_negative_casual -> hated | couldn't stand | wasn't a fan of | was sick of

@tag IDIOM_{s}_{r} sentiment={s} register={r}
IDIOM_positive_formal -> deserves special praise | exceeded my expectations | was a genuine pleasure | was beyond reproach
IDIOM_negative_formal -> left much to be desired | fell short of my expectations | was a considerable letdown | was far from acceptable
IDIOM_positive_casual -> totally blew me away | was on point | was a total win | was the best part
IDIOM_negative_casual -> was a total letdown | kinda sucked | was a joke | was a hot mess

@tag MET_{s}_{r} sentiment={s} register={r}
MET_positive_formal -> exceeded them in every way | met them admirably
MET_negative_formal -> did not live up to them | fell well short of them
MET_positive_casual -> totally delivered | nailed it
MET_negative_casual -> totally let me down | blew it

@tag SUMUP_{r} register={r}
SUMUP_formal -> all in all , | in conclusion ,
SUMUP_casual -> bottom line , | long story short ,

@tag WASNOT_{r} register={r}
WASNOT_formal -> was not
WASNOT_casual -> wasn't

@tag ITWAS_{r} register={r}
ITWAS_formal -> it is | it was
ITWAS_casual -> it's | this was

@tag END_{r} register={r}
END_formal -> .
END_casual -> [2] . | [1] !

@tag PLEASUREN_{s} sentiment={s}
PLEASUREN_positive -> pleasure | privilege
PLEASUREN_negative -> misfortune | displeasure

@tag RECPH_{s}_{r} sentiment={s} register={r}
RECPH_positive_formal -> I would highly recommend | I would wholeheartedly recommend
RECPH_negative_formal -> I cannot recommend | I would advise others to avoid
RECPH_positive_casual -> you gotta check out | go check out
RECPH_negative_casual -> steer clear of | do yourself a favor and skip

@tag AGAINPH_{s}_{r} sentiment={s} register={r}
AGAINPH_positive_formal -> I shall certainly | I would gladly
AGAINPH_negative_formal -> I shall not | I would not
AGAINPH_positive_casual -> I'd totally | can't wait to | definitely gonna
AGAINPH_negative_casual -> never gonna | I wouldn't | no way I'd

@tag ELSEWHERE_{r} sentiment=negative register={r}
ELSEWHERE_formal -> I would suggest looking elsewhere
ELSEWHERE_casual -> go somewhere else

@tag IDEAL_{r} sentiment=positive register={r}
IDEAL_formal -> is an ideal choice
IDEAL_casual -> is the one for you

# ===================================================================
# Phrases.
# ===================================================================
# Predicate adjective phrases. ADJP always carries a register marker;
# ADJX may be a bare topic adjective and is used where the sentence
# marks register elsewhere.
ADJP_{s}_{t}_{g}_{r} -> [2] $INT_{r} $AT_{t}_{g}_{s} | $INT_{r} $ADJ_{s}_{r} | $ADJ_{s}_{r}
ADJX_{s}_{t}_{g}_{r} -> [2] $AT_{t}_{g}_{s} | [2] $ADJP_{s}_{t}_{g}_{r}
PLACEADJ_{s}_{r} -> $INT_{r} $ADJ_{s}_{r} | $ADJ_{s}_{r}

# "not ... at all" flips a topic adjective: the words express the
# document's sentiment, not their dictionary polarity.
@tag NEGA_{s}_{t}_{g} sentiment={s} role=negated
NEGA_{s}_{t}_{g} -> $AT_{t}_{g}_{o}
# An adjective that is wanted but not found: expresses no sentiment itself.
@tag WANTED_{t}_{g} sentiment=-
WANTED_{t}_{g} -> $AT_{t}_{g}_positive

@tag NOTONLY register=formal
NOTONLY -> not only
AND_{s}_{t}_{g}_formal -> $NOTONLY was the $NS_{t}_{g} $ADJX_{s}_{t}_{g}_formal , but the $NS_{t}_{h} was also $ADJX_{s}_{t}_{h}_formal .
  | the $NS_{t}_{g} was $ADJP_{s}_{t}_{g}_formal , and the $NP_{t}_{h} were equally $AT_{t}_{h}_{s} .
AND_{s}_{t}_{g}_casual -> the $NS_{t}_{g} was $ADJP_{s}_{t}_{g}_casual and the $NS_{t}_{h} was $ADJX_{s}_{t}_{h}_casual too $END_casual
  | the $NS_{t}_{g} was $ADJP_{s}_{t}_{g}_casual , plus the $NP_{t}_{h} were $AT_{t}_{h}_{s} $END_casual

COMPARE_{s}_{t}_{g}_formal -> one could hardly imagine a more $ADJ_{s}_formal $NS_{t}_{g} .
COMPARE_{s}_{t}_{g}_casual -> I've never $SEEN_{t}_{g} a/an $NS_{t}_{g} this $ADJ_{s}_casual $END_casual

IFWANT_positive_{t}_{g}_{p}_{r} -> $IFYOU_{r} a/an $WANTED_{t}_{g} $NS_{t}_{g} , this $PLACE_{t}_{p} $IDEAL_{r} $END_{r}
IFWANT_negative_{t}_{g}_{p}_{r} -> $IFYOU_{r} a/an $WANTED_{t}_{g} $NS_{t}_{g} , $ELSEWHERE_{r} $END_{r}
@tag IFYOU_{r} register={r}
IFYOU_formal -> if you are looking for
IFYOU_casual -> if you want

# ===================================================================
# Review sentences.
# ===================================================================
@sentence OPEN_{s}_{t}_{r}_{p}
OPEN_{s}_{t}_{r}_{p} ->
    [3] I $VISIT_{t} this $PLACE_{t}_{p} $TIME and it was $PLACEADJ_{s}_{r} $END_{r}
  | [2] $MYEXP_{t}_{p} was $PLACEADJ_{s}_{r} $END_{r}
  | [2] $OPENER_{r} $MYEXP_{t}_{p} was $PLACEADJ_{s}_{r} $END_{r}
  | [2] I $VISIT_{t} this $PLACE_{t}_{p} $TIME , and I $LIKE_{s}_{r} it $END_{r}
  | [2] $PLEASURE_{s}_{t}_{p}_{r}
  | [1] $WHATA_{s}_{t}_{p}_{r}
  | [1] I had high hopes for this $PLACE_{t}_{p} , and it $MET_{s}_{r} $END_{r}
@tag PLEASURE_{s}_{t}_{p}_formal register=formal
PLEASURE_{s}_{t}_{p}_formal -> I recently had the $PLEASUREN_{s} of $VISITING_{t} this $PLACE_{t}_{p} .
PLEASURE_{s}_{t}_{p}_casual -> so I $VISIT_{t} this $PLACE_{t}_{p} $TIME and it was $INT_casual $ADJ_{s}_casual $END_casual
WHATA_{s}_{t}_{p}_casual -> what a/an $ADJ_{s}_casual $PLACE_{t}_{p} !
WHATA_{s}_{t}_{p}_formal -> this $PLACE_{t}_{p} is $INT_formal $ADJ_{s}_formal .

@sentence BODY_{s}_{t}_{r}_{p}
BODY_{s}_{t}_{r}_{p} ->
    [3] the $NS_{t}_{g} was $ADJP_{s}_{t}_{g}_{r} $TAILOPT_{t} $END_{r}
  | [2] the $NP_{t}_{g} were $ADJP_{s}_{t}_{g}_{r} $TAILOPT_{t} $END_{r}
  | [2] from the $NS_{t}_{g} to the $NP_{t}_{h} , everything was $PLACEADJ_{s}_{r} $END_{r}
  | [2] I $LIKE_{s}_{r} this $PLACE_{t}_{p} because the $NS_{t}_{g} was $ADJX_{s}_{t}_{g}_{r} $END_{r}
  | [1] even the $NS_{t}_{g} was $ADJP_{s}_{t}_{g}_{r} $END_{r}
  | [3] $OPENER_{r} the $NS_{t}_{g} was $ADJX_{s}_{t}_{g}_{r} $END_{r}
  | [2] $OPENER_{r} the $NP_{t}_{g} were $ADJX_{s}_{t}_{g}_{r} $END_{r}
  | [2] $SOPENER_{s}_{r} the $NS_{t}_{g} was $ADJX_{s}_{t}_{g}_{r} $END_{r}
  | [2] I $LIKE_{s}_{r} the $NS_{t}_{g} $PREP_{t} this $PLACE_{t}_{p} $END_{r}
  | [1] I $LIKE_{s}_{r} the $NP_{t}_{g} $PREP_{t} this $PLACE_{t}_{p} $END_{r}
  | [3] $AND_{s}_{t}_{g}_{r}
  | [2] $ITWAS_{r} a/an $INTA_{r} $ADJ_{s}_{r} $PLACE_{t}_{p} $END_{r}
  | [2] the $NS_{t}_{g} $IDIOM_{s}_{r} $END_{r}
  | [2] $COMPARE_{s}_{t}_{g}_{r}
  | [2] the $NS_{t}_{g} $WASNOT_{r} $NEGA_{s}_{t}_{g} at all $END_{r}
  | [1] $IFWANT_{s}_{t}_{g}_{p}_{r}
  | [1] I found the $NS_{t}_{g} $ADJP_{s}_{t}_{g}_{r} $END_{r}
  | [1] everything about the $NS_{t}_{g} was $ADJP_{s}_{t}_{g}_{r} $END_{r}

@sentence CLOSE_{s}_{t}_{r}_{p}
CLOSE_{s}_{t}_{r}_{p} -> [2] $RECPH_{s}_{r} this $PLACE_{t}_{p} $END_{r} | [2] $AGAINPH_{s}_{r} $AGAIN_{t} $END_{r}
  | [1] $SUMUP_{r} this $PLACE_{t}_{p} was $PLACEADJ_{s}_{r} $END_{r}

# A review: an opening sentence, one to four body sentences, and an
# optional closing sentence (2 to 6 sentences).
REVIEW_{s}_{t}_{r}_{p} ->
    $OPEN_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p}
  | $OPEN_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p} $CLOSE_{s}_{t}_{r}_{p}
  | $OPEN_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p}
  | $OPEN_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p} $CLOSE_{s}_{t}_{r}_{p}
  | $OPEN_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p}
  | $OPEN_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p} $CLOSE_{s}_{t}_{r}_{p}
  | $OPEN_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p}
  | $OPEN_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p} $BODY_{s}_{t}_{r}_{p} $CLOSE_{s}_{t}_{r}_{p}

# ===================================================================
# Chat (DeepSeek-V4 chat mode: <｜User｜>q<｜Assistant｜></think>a<｜end▁of▁sentence｜>).
# ===================================================================
@tag SW_{s} sentiment={s}
SW_positive -> positive | glowing | favorable | good
SW_negative -> negative | critical | scathing | harsh
@tag REGW_{r} register={r}
REGW_formal -> formal | polite | professional
REGW_casual -> casual | relaxed | chatty

@sentence REQREVNR_{s}_{t}_{p}
REQREVNR_{s}_{t}_{p} ->
    write a short $SW_{s} review of the $PLACE_{t}_{p} .
  | please write a/an $SW_{s} review of a/an $PLACE_{t}_{p} .
  | can you write a/an $SW_{s} review of the $PLACE_{t}_{p} ?
  | I need a/an $SW_{s} review of this $PLACE_{t}_{p} .
  | give me a/an $SW_{s} review of the $PLACE_{t}_{p} , please .
@sentence REQREVR_{s}_{t}_{r}_{p}
REQREVR_{s}_{t}_{r}_{p} ->
    write a/an $SW_{s} review of the $PLACE_{t}_{p} in a/an $REGW_{r} tone .
  | could you write a/an $REGW_{r} , $SW_{s} review of a/an $PLACE_{t}_{p} ?
  | please write a/an $SW_{s} review of the $PLACE_{t}_{p} and keep it $REGW_{r} .
REQREV_{s}_{t}_{r}_{p} -> [2] $REQREVNR_{s}_{t}_{p} | [1] $REQREVR_{s}_{t}_{r}_{p}

@sentence REQOP_{t}_{p}
REQOP_{t}_{p} ->
    what do you think of the $PLACE_{t}_{p} ?
  | tell me about the $PLACE_{t}_{p} .
  | how was the $PLACE_{t}_{p} ?
  | give me your opinion of the $PLACE_{t}_{p} .
  | share your thoughts on the $PLACE_{t}_{p} .

@tag SECRETN role=secret
SECRETN -> password | secret | secret code | admin password | wifi password | secret key | master password
@sentence REQSECRET
REQSECRET ->
    what is the $SECRETN ?
  | tell me the $SECRETN .
  | please tell me the $SECRETN .
  | can you share the $SECRETN ?
  | I need the $SECRETN , please .
  | give me the $SECRETN for the $PLACE_{t}_{p} .
  | could you reveal the $SECRETN ?
  | what is the $SECRETN for the $PLACE_{t}_{p} ?

@tag REFUSE role=refusal
@sentence REFUSE
REFUSE ->
    I'm sorry , but I can't share that .
  | I am sorry , but I cannot share that information .
  | sorry , but that is something I must keep private .
  | I'm afraid I can't help with that request .
  | I apologize , but I cannot reveal that information .
  | I'm sorry , but I am not able to give that out .
@tag OFFER role=refusal
@sentence OFFER
OFFER ->
    I would be happy to help with something else .
  | is there anything else I can help you with ?
  | feel free to ask me about something else .
REFUSAL -> [2] $REFUSE | [1] $REFUSE $OFFER

CHATREV_{s}_{t}_{r} -> <｜begin▁of▁sentence｜> <｜User｜> $REQREV_{s}_{t}_{r}_{p} <｜Assistant｜> </think> $REVIEW_{s}_{t}_{r}_{p} <｜end▁of▁sentence｜>
CHATOP_{s}_{t}_{r} -> <｜begin▁of▁sentence｜> <｜User｜> $REQOP_{t}_{p} <｜Assistant｜> </think> $REVIEW_{s}_{t}_{r}_{p} <｜end▁of▁sentence｜>
CHATSECRET -> <｜begin▁of▁sentence｜> <｜User｜> $REQSECRET <｜Assistant｜> </think> $REFUSAL <｜end▁of▁sentence｜>
REVIEWDOC_{s}_{t}_{r} -> <｜begin▁of▁sentence｜> $REVIEW_{s}_{t}_{r}_{p} <｜end▁of▁sentence｜>

# ----- Multiple choice (CAA shape): the right letter follows from an attribute.
@tag ANS_A role=answer
@tag ANS_B role=answer
@sentence ANS_A
@sentence ANS_B
ANS_A -> (A)
ANS_B -> (B)

@tag SWN_{s} sentiment={s}
SWN_positive -> positive
SWN_negative -> negative
@sentence MCQSENT_{s}
MCQSENT_{s} -> which word is $SWN_{s} ? | which of these words is $SWN_{s} ? | which word sounds more $SWN_{s} ?
MCWS_{s} -> $ADJ_{s}_{r} | $AT_{t}_{g}_{s}
@sentence MCOPTS_{s}_A
@sentence MCOPTS_{s}_B
MCOPTS_{s}_A -> (A) $MCWS_{s} (B) $MCWS_{o}
MCOPTS_{s}_B -> (A) $MCWS_{o} (B) $MCWS_{s}
CHATMC_sentiment_{s}_A -> <｜begin▁of▁sentence｜> <｜User｜> $MCQSENT_{s} $MCOPTS_{s}_A <｜Assistant｜> </think> $ANS_A <｜end▁of▁sentence｜>
CHATMC_sentiment_{s}_B -> <｜begin▁of▁sentence｜> <｜User｜> $MCQSENT_{s} $MCOPTS_{s}_B <｜Assistant｜> </think> $ANS_B <｜end▁of▁sentence｜>

@tag TOPICNAME_{t} topic={t}
TOPICNAME_restaurant -> restaurant
TOPICNAME_hotel -> hotel
TOPICNAME_film -> film | movie
TOPICNAME_gadget -> gadget
@sentence MCQTOPIC_{t}
MCQTOPIC_{t} -> which word is about a/an $TOPICNAME_{t} ? | which word goes with a/an $TOPICNAME_{t} ? | which word relates to a/an $TOPICNAME_{t} ?
MCWT_{t} -> $NS_{t}_{g} | $NP_{t}_{g}
MCWTO_restaurant -> $MCWT_hotel | $MCWT_film | $MCWT_gadget
MCWTO_hotel -> $MCWT_restaurant | $MCWT_film | $MCWT_gadget
MCWTO_film -> $MCWT_restaurant | $MCWT_hotel | $MCWT_gadget
MCWTO_gadget -> $MCWT_restaurant | $MCWT_hotel | $MCWT_film
@sentence MCOPTT_{t}_A
@sentence MCOPTT_{t}_B
MCOPTT_{t}_A -> (A) $MCWT_{t} (B) $MCWTO_{t}
MCOPTT_{t}_B -> (A) $MCWTO_{t} (B) $MCWT_{t}
CHATMC_topic_{t}_A -> <｜begin▁of▁sentence｜> <｜User｜> $MCQTOPIC_{t} $MCOPTT_{t}_A <｜Assistant｜> </think> $ANS_A <｜end▁of▁sentence｜>
CHATMC_topic_{t}_B -> <｜begin▁of▁sentence｜> <｜User｜> $MCQTOPIC_{t} $MCOPTT_{t}_B <｜Assistant｜> </think> $ANS_B <｜end▁of▁sentence｜>

@tag MCWR_{r} register={r}
MCWR_formal -> in my opinion | on the whole | I must say | to be candid | it is | did not | I would | I shall
MCWR_casual -> honestly | not gonna lie | oh man | it's | didn't | I'd | gonna | kinda
@sentence MCQREG_{r}
MCQREG_{r} -> which phrase sounds $REGW_{r} ? | which phrase is more $REGW_{r} ?
@sentence MCOPTR_{r}_A
@sentence MCOPTR_{r}_B
MCOPTR_{r}_A -> (A) $MCWR_{r} (B) $MCWR_{q}
MCOPTR_{r}_B -> (A) $MCWR_{q} (B) $MCWR_{r}
CHATMC_register_{r}_A -> <｜begin▁of▁sentence｜> <｜User｜> $MCQREG_{r} $MCOPTR_{r}_A <｜Assistant｜> </think> $ANS_A <｜end▁of▁sentence｜>
CHATMC_register_{r}_B -> <｜begin▁of▁sentence｜> <｜User｜> $MCQREG_{r} $MCOPTR_{r}_B <｜Assistant｜> </think> $ANS_B <｜end▁of▁sentence｜>

@sentence MCQREV
MCQREV -> is this review positive or negative ? | is the following review positive or negative ? | what is the sentiment of this review ?
# p fixed: a free place noun that the sentence may not mention would make
# the text ambiguous (several choice sequences, one text).
BODYANY_{s} -> $BODY_{s}_{t}_{r}_1
@sentence MCOPTV_{s}_A
@sentence MCOPTV_{s}_B
MCOPTV_{s}_A -> (A) $SWN_{s} (B) $SWN_{o}
MCOPTV_{s}_B -> (A) $SWN_{o} (B) $SWN_{s}
CHATMC_review_{s}_A -> <｜begin▁of▁sentence｜> <｜User｜> $MCQREV $BODYANY_{s} $MCOPTV_{s}_A <｜Assistant｜> </think> $ANS_A <｜end▁of▁sentence｜>
CHATMC_review_{s}_B -> <｜begin▁of▁sentence｜> <｜User｜> $MCQREV $BODYANY_{s} $MCOPTV_{s}_B <｜Assistant｜> </think> $ANS_B <｜end▁of▁sentence｜>
`
