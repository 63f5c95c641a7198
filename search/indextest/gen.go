package indextest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/beaconlive/beacon/search"
)

// Word lists for generated channels. Categories are drawn with a Zipf-like
// skew, like real directories where a few games hold most streams.
var (
	genCategories = []string{
		"Just Chatting", "League of Legends", "Grand Theft Auto V", "Valorant", "Minecraft",
		"Counter-Strike", "Fortnite", "World of Warcraft", "Apex Legends", "Dota 2",
		"Call of Duty: Warzone", "Music", "Art", "Elden Ring", "Hearthstone",
		"Overwatch 2", "Rocket League", "Dead by Daylight", "Teamfight Tactics", "Escape from Tarkov",
		"Software and Game Development", "Chess", "Pokémon Scarlet and Violet", "Stardew Valley", "Terraria",
		"Rust", "Sea of Thieves", "Baldur's Gate 3", "Cyberpunk 2077", "The Legend of Zelda: Tears of the Kingdom",
		"Super Mario 64", "Hollow Knight", "Celeste", "Path of Exile", "Diablo IV",
		"Old School RuneScape", "Among Us", "Phasmophobia", "Lethal Company", "Factorio",
		"Talk Shows and Podcasts", "Sports", "Travel and Outdoors", "Food and Drink", "Science and Technology",
		"Retro", "Speedrunning", "ASMR", "Fitness and Health", "Makers and Crafting",
	}
	genLanguages = []string{"en", "en", "en", "en", "es", "es", "de", "fr", "pt", "ja", "ko", "ru", "it", "pl", "tr", "zh"}
	genTags      = []string{
		"english", "competitive", "casual", "speedrun", "fps", "rpg", "mmo", "strategy", "horror", "indie",
		"retro", "chill", "family friendly", "lgbtqia+", "vtuber", "esports", "ranked", "coop", "pvp", "pve",
		"educational", "drops enabled", "no backseating", "challenge run", "first playthrough", "modded", "hardcore",
		"roleplay", "variety", "music", "art", "coding", "irl", "podcast", "tournament", "giveaway", "blind",
		"any percent", "world record", "relaxing", "funny", "high skill", "beginner friendly", "sandbox", "survival",
		"pixel art", "open world", "story rich", "multiplayer", "singleplayer",
	}
	genSmartTags = []string{
		"gameplay", "webcam", "talking", "menu screen", "shooter", "racing", "building", "crafting", "combat",
		"boss fight", "lobby", "cutscene", "drawing", "guitar", "piano", "cooking", "outdoors", "desk setup",
		"map view", "inventory", "character creator", "multiplayer lobby", "dark scene", "night city",
	}
	genTitleHead = []string{
		"Chill", "Late night", "Early morning", "Sunday", "Ranked", "Road to", "Blind", "First time playing",
		"Grinding", "Learning", "Speedrunning", "Casual", "Hardcore", "100%", "Day 12 of", "Weekend",
		"Cozy", "Sweaty", "Pro", "Beginner", "Viewer games", "Community night", "Marathon", "Final push:",
	}
	genTitleBody = []string{
		"diamond rank", "world record attempts", "new patch", "boss rush", "any% runs", "community lobbies",
		"building a castle", "the final dungeon", "hard mode", "custom maps", "chat decides", "speed builds",
		"tier list debate", "draft practice", "aim training", "tournament qualifiers", "story mode", "modded survival",
		"drawing commissions", "lo-fi beats", "coding a game engine", "cooking pasta", "subathon", "no hit run",
		"randomizer", "glitchless", "co-op with friends", "solo queue", "arena matches", "season finale",
	}
	genTitleTail = []string{
		"", "", "", "!drops", "| !socials", "— come hang out", "w/ chat", "(no commentary)", "!discord",
		"PogChamp", "| day 3", "LETS GO", "~ chill vibes", "#ad", "| !merch",
	}
	genSyllables = []string{
		"ka", "zu", "mi", "ro", "xen", "tor", "lyn", "vex", "neo", "pix", "dra", "gon", "sky", "fox", "byte",
		"lux", "mo", "ri", "sa", "ten", "qua", "zar", "el", "ix", "on", "ar", "bel", "cy", "dex", "fin",
	}
)

// Generate returns n deterministic channel documents with realistic text,
// the same for the same seed: ids "ch-000000"…, logins from syllables,
// titles from phrase lists, categories and languages skewed like a real
// directory, 1–5 streamer tags and 0–3 Smart Tags, Zipf-like viewer counts,
// about 90% live, 8% mature and 1% hidden.
func Generate(n int, seed uint64) []search.Channel {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	zipfCat := rand.NewZipf(r, 1.1, 2, uint64(len(genCategories)-1))
	zipfView := rand.NewZipf(r, 1.2, 3, 200000)
	base := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	out := make([]search.Channel, n)
	for i := range out {
		var login strings.Builder
		for range 2 + r.IntN(2) {
			login.WriteString(genSyllables[r.IntN(len(genSyllables))])
		}
		if r.IntN(3) == 0 {
			fmt.Fprintf(&login, "%d", r.IntN(1000))
		}
		display := strings.ToUpper(login.String()[:1]) + login.String()[1:]
		ci := int(zipfCat.Uint64())
		cat := genCategories[ci]
		title := strings.TrimSpace(strings.Join([]string{
			genTitleHead[r.IntN(len(genTitleHead))],
			cat,
			genTitleBody[r.IntN(len(genTitleBody))],
			genTitleTail[r.IntN(len(genTitleTail))],
		}, " "))
		if r.IntN(4) == 0 {
			title = genTitleHead[r.IntN(len(genTitleHead))] + " " + genTitleBody[r.IntN(len(genTitleBody))]
		}
		var st, smt []string
		for range 1 + r.IntN(5) {
			st = append(st, genTags[r.IntN(len(genTags))])
		}
		for range r.IntN(4) {
			smt = append(smt, genSmartTags[r.IntN(len(genSmartTags))])
		}
		safety := search.SafetyVisible
		if r.IntN(100) == 0 {
			safety = search.SafetyHidden
		}
		id := fmt.Sprintf("ch-%06d", i)
		out[i] = search.Channel{
			ID:           id,
			Login:        fmt.Sprintf("%s_%d", login.String(), i),
			DisplayName:  display,
			Title:        title,
			CategoryID:   fmt.Sprintf("cat-%03d", ci),
			CategoryName: cat,
			Language:     genLanguages[r.IntN(len(genLanguages))],
			StreamerTags: st,
			SmartTags:    smt,
			Mature:       r.IntN(100) < 8,
			Live:         r.IntN(10) != 0,
			StartedAt:    base.Add(-time.Duration(r.IntN(12*3600)) * time.Second),
			ViewerCount:  int64(zipfView.Uint64()),
			ThumbnailURL: "https://cdn.beacon.test/thumbs/" + id + ".jpg",
			Safety:       safety,
		}.Normalize()
	}
	return out
}
