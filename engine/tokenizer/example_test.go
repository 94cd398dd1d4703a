package tokenizer_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/steerbook/steerbook/engine/tokenizer"
)

// A tokenizer.json trained by this package (see TestTrainedFile), with the
// DeepSeek special tokens at ids 0–6.
const trained = "testdata/trained_tokenizer.json"

func ExampleTokenizer_Encode() {
	tk, err := tokenizer.Load(trained)
	if err != nil {
		log.Fatal(err)
	}
	ids := tk.Encode("<｜User｜>The hotel was friendly.")
	for _, id := range ids {
		fmt.Printf("%d %q\n", id, tk.Decode([]int{id}))
	}
	fmt.Println(tk.Decode(ids))
	// Output:
	// 3 "<｜User｜>"
	// 369 "The"
	// 336 " hotel"
	// 343 " was"
	// 330 " friendly"
	// 53 "."
	// <｜User｜>The hotel was friendly.
}

func ExampleEncodeChat() {
	msgs := []tokenizer.Message{
		{Role: tokenizer.RoleSystem, Content: "Be brief."},
		{Role: tokenizer.RoleUser, Content: "Review the film."},
	}
	fmt.Println(tokenizer.EncodeChat(msgs, tokenizer.ChatOptions{AddGenerationPrompt: true}))
	fmt.Println(tokenizer.EncodeChat(msgs, tokenizer.ChatOptions{AddGenerationPrompt: true, Thinking: true}))
	// Output:
	// <｜begin▁of▁sentence｜>Be brief.<｜User｜>Review the film.<｜Assistant｜></think>
	// <｜begin▁of▁sentence｜>Be brief.<｜User｜>Review the film.<｜Assistant｜><think>
}

func ExampleTokenizer_NewDecoder() {
	tk, err := tokenizer.Load(trained)
	if err != nil {
		log.Fatal(err)
	}
	// "🎉" is four bytes; a small vocabulary spells it with byte tokens, and
	// the stream decoder prints it only once it is complete.
	d := tk.NewDecoder()
	for _, id := range tk.Encode("ok 🎉") {
		fmt.Printf("%q\n", d.Add(id))
	}
	fmt.Printf("%q\n", d.Flush())
	// Output:
	// "o"
	// "k"
	// " "
	// ""
	// ""
	// "🎉"
	// ""
}

func ExampleTrain() {
	texts := []string{
		"The food was superb and the staff were friendly.",
		"The food was bland and the staff were rude.",
		tokenizer.UserToken + "Write a review." + tokenizer.AssistantToken + tokenizer.ThinkEnd + "The food was superb." + tokenizer.EOSToken,
	}
	tk, err := tokenizer.Train(texts, 7+256+40, tokenizer.DefaultSpecialTokens)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "tok")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tokenizer.json")
	if err := tk.WriteJSON(path); err != nil {
		log.Fatal(err)
	}
	back, err := tokenizer.Load(path)
	if err != nil {
		log.Fatal(err)
	}
	ids := back.Encode("The food was friendly.")
	fmt.Println(back.VocabSize(), back.BOS(), back.EOS(), len(ids), back.Decode(ids))
	// Output:
	// 303 0 1 6 The food was friendly.
}
