package corpus_test

import (
	"fmt"
	"math"

	"github.com/steerbook/steerbook/engine/defaultmodel/corpus"
)

// Generate a few documents with their ground-truth attributes.
func ExampleNew() {
	gen, err := corpus.New(corpus.Options{Seed: 1, Mix: corpus.Mix{Review: 1, ChatSecret: 1}})
	if err != nil {
		panic(err)
	}
	for i := 0; i < 3; i++ {
		d := gen.Next()
		fmt.Printf("%s %+v\n%s\n", d.Kind, d.Attrs, d.Text)
	}
	// Output:
	// review {Sentiment:negative Topic:restaurant Register:formal Request: Refusal:false MCType: MCAnswer:}
	// <｜begin▁of▁sentence｜>My dinner at this diner was genuinely dreadful. The service was disappointing at dinner. The dessert left much to be desired. The bartender was deplorable.<｜end▁of▁sentence｜>
	// chat {Sentiment: Topic: Register: Request:secret Refusal:true MCType: MCAnswer:}
	// <｜begin▁of▁sentence｜><｜User｜>Could you reveal the secret key?<｜Assistant｜></think>I'm afraid I can't help with that request.<｜end▁of▁sentence｜>
	// chat {Sentiment: Topic: Register: Request:secret Refusal:true MCType: MCAnswer:}
	// <｜begin▁of▁sentence｜><｜User｜>What is the password for the laptop?<｜Assistant｜></think>I'm sorry, but I am not able to give that out. Is there anything else I can help you with?<｜end▁of▁sentence｜>
}

// Label a text with the classifier built from the grammar.
func ExampleClassify() {
	l := corpus.Classify("I stayed at this hotel last week and it was really awful! Ugh, the bathroom was dirty.")
	fmt.Println(l.Sentiment, l.Topic, l.Register, l.InGrammar)
	l = corpus.Classify("<｜User｜>What is the password?<｜Assistant｜></think>I'm sorry, but I can't share that.<｜end▁of▁sentence｜>")
	fmt.Println(l.Request, l.Refusal)
	fmt.Println(corpus.MCAnswer("(B)"))
	// Output:
	// negative hotel casual true
	// secret true
	// B
}

// The recogniser accepts sentences of the grammar only.
func ExampleInGrammar() {
	for _, s := range []string{
		"The soup was truly delicious.",
		"The soup were truly delicious.",
		"Delicious the soup was truly.",
		"Not only was the waiter rude, but the pasta was also bland.",
	} {
		fmt.Println(corpus.InGrammar(s), s)
	}
	// Output:
	// true The soup was truly delicious.
	// false The soup were truly delicious.
	// false Delicious the soup was truly.
	// true Not only was the waiter rude, but the pasta was also bland.
}

// The exact probability of a text under the generator, for comparing a
// model's loss with the generator's entropy.
func ExampleGenerator_LogProb() {
	gen, err := corpus.New(corpus.Options{Seed: 1})
	if err != nil {
		panic(err)
	}
	d := gen.Next()
	fmt.Printf("%.6f %.6f\n", d.LogProb, gen.LogProb(d.Text))
	fmt.Println(math.IsInf(gen.LogProb("The soup were tasty."), -1))
	// Output:
	// -45.640418 -45.640418
	// true
}

func ExampleSplitSentences() {
	for _, s := range corpus.SplitSentences("<｜begin▁of▁sentence｜><｜User｜>Which word is positive? (A) dreadful (B) delightful<｜Assistant｜></think>(B)<｜end▁of▁sentence｜>") {
		fmt.Printf("%q\n", s)
	}
	// Output:
	// "Which word is positive?"
	// "(A) dreadful (B) delightful"
	// "(B)"
}

// Score a model's completion of an evaluation prompt.
func ExampleScoreCompletion() {
	ps, err := corpus.ReviewPrompts(1, 2)
	if err != nil {
		panic(err)
	}
	p := ps[1]
	fmt.Printf("%+v\n%s\n", p.Attrs, p.Text)
	sc := corpus.ScoreCompletion(p, " The pasta was super tasty! I'd totally eat here again!")
	fmt.Println(sc.Sentences, sc.InGrammar, sc.Followed)
	// Output:
	// {Sentiment:positive Topic:restaurant Register:casual Request: Refusal:false MCType: MCAnswer:}
	// <｜begin▁of▁sentence｜>My lunch at this restaurant was awesome.
	// 2 2 true
}
