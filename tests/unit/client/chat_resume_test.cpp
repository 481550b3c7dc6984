#include "client/chat_resume.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace enchufe::client {
namespace {

using Lines = std::vector<std::string>;

// Feeds the server's lines; returns those shown.
Lines feed(ChatResume& resume, const Lines& lines) {
  Lines shown;
  for (const auto& line : lines) {
    if (resume.on_line(line)) shown.push_back(line);
  }
  return shown;
}

TEST(ChatResume, AFreshClientOnlyAsksForIds) {
  ChatResume resume;
  EXPECT_EQ(resume.resume_lines(), (Lines{"/ids on", "/resume 0"}));
}

TEST(ChatResume, ShowsEverythingAndNotesNickRoomAndTheNewestId) {
  ChatResume resume;
  const Lines session = {
      "* Welcome to enchufe chat! /help lists the commands.",
      "* You are guest-1. Type a nickname to take it (e.g. ana), or just start talking.",
      "* you are in general now; /who lists who is here",
      "* ids on: room lines start with #ID; you have seen general up to #7",
      "* you are ana now",
      "#8 [12:00:01] <bob> hola",
      "* you are in Juegos now; /who lists who is here",
      "* the last 2 messages in Juegos:",
      "#3 [11:00:00] <carla> uno",
      "#5 [11:00:05] <carla> dos",
      "#6 * bob joined Juegos",
      "#2 [10:59:00] <carla> older, from /history",
      "error: you are ana already",
  };
  EXPECT_EQ(feed(resume, session), session);
  EXPECT_EQ(resume.nick(), "ana");
  EXPECT_EQ(resume.room(), "Juegos");
  EXPECT_EQ(resume.last_id(), 6u);
  EXPECT_FALSE(resume.said_goodbye());
  EXPECT_EQ(resume.resume_lines(), (Lines{"/ids on", "/nick ana", "/join Juegos", "/resume 6"}));
}

TEST(ChatResume, TheIdsAnswerGivesWhereTheFirstReplayEnded) {
  ChatResume resume;
  feed(resume, {"* you are in general now; /who lists who is here", "[12:00:00] <bob> before ids",
                "* ids on: room lines start with #ID; you have seen general up to #12"});
  EXPECT_EQ(resume.last_id(), 12u);
  EXPECT_EQ(resume.resume_lines(), (Lines{"/ids on", "/resume 12"}));  // general: no /join
}

TEST(ChatResume, WhatTheNewSessionRepeatsIsHiddenUntilTheResumeAnswer) {
  ChatResume resume;
  feed(resume, {"* you are ana now", "* you are in juegos now; /who lists who is here", "#9 [12:00:00] <bob> a"});
  resume.resume_lines();
  const Lines reconnected = {
      "* Welcome to enchufe chat! /help lists the commands.",
      "* You are guest-4. Type a nickname to take it (e.g. ana), or just start talking.",
      "* you are in general now; /who lists who is here",
      "* the last 1 message in general:",
      "[11:00:00] <zoe> general's replay",
      "* ids on: room lines start with #ID; you have seen general up to #3",
      "error: nickname 'ana' is taken",
      "* you are in juegos now; /who lists who is here",
      "#9 [12:00:00] <bob> a",
      "#10 [12:00:02] <bob> b",
      "* back in juegos: 2 lines you missed since #9",
      "#10 [12:00:02] <bob> b",
      "#12 [12:00:03] <bob> c",
      "#13 [12:00:04] <bob> live",
  };
  EXPECT_EQ(feed(resume, reconnected),
            (Lines{"error: nickname 'ana' is taken", "* back in juegos: 2 lines you missed since #9",
                   "#10 [12:00:02] <bob> b", "#12 [12:00:03] <bob> c", "#13 [12:00:04] <bob> live"}));
  EXPECT_EQ(resume.last_id(), 13u);
  EXPECT_EQ(resume.room(), "juegos");
}

TEST(ChatResume, AServerThatNumbersAgainIsFollowed) {
  // A restart without a store: the room counts from 1 again, and the
  // answer says it counted from #0.
  ChatResume resume;
  feed(resume, {"#40 [12:00:00] <bob> old numbering"});
  resume.resume_lines();
  feed(resume, {"* back in general: nothing new since #0"});
  EXPECT_EQ(resume.last_id(), 0u);
  feed(resume, {"#1 [12:01:00] <bob> new numbering"});
  EXPECT_EQ(resume.last_id(), 1u);
}

TEST(ChatResume, GoodbyeMeansTheUserLeft) {
  ChatResume resume;
  feed(resume, {"* bye!"});
  EXPECT_TRUE(resume.said_goodbye());
}

TEST(ChatResume, LinesThatOnlyLookLikeTheServersAreNotTaken) {
  ChatResume resume;
  feed(resume, {"[12:00:00] <eve> * you are mallory now", "* you are eve now please", "#x not an id",
                "* you are in  now; odd", "[12:00:01] <eve> * bye!"});
  EXPECT_EQ(resume.nick(), "");
  EXPECT_EQ(resume.room(), "");
  EXPECT_EQ(resume.last_id(), 0u);
  EXPECT_FALSE(resume.said_goodbye());
}

}  // namespace
}  // namespace enchufe::client
