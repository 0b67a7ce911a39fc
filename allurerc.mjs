// Allure 3 configuration for `./run conformance` (conformance/report/allure.py runs `allure generate`).
export default {
  name: "unpause conformance",
  output: "reports/html",
  // beside the run's reports (conformance/report/allure.py sets it; reports/history/ by default)
  historyPath: process.env.CONFORMANCE_ALLURE_HISTORY ?? "reports/history/history.jsonl",
  categories: {
    rules: [
      { name: "Contract violation (MUST)", matchedStatuses: ["failed"], messageRegex: "[\\s\\S]*RuleFailure: (VER|SCHEMA|INV|BEH|AUTH|ERR|XVER)-[\\s\\S]*" },
      { name: "Advisory finding (SHOULD)", matchedStatuses: ["skipped"], messageRegex: "[\\s\\S]*SHOULD [\\s\\S]*" },
      { name: "Target unreachable or timed out", matchedStatuses: ["failed", "broken"], messageRegex: "[\\s\\S]*(no response|ConnectError|Timeout|unreachable)[\\s\\S]*" },
      { name: "Error in the suite itself", matchedStatuses: ["broken"] },
    ],
  },
  plugins: {
    awesome: {
      options: {
        reportName: "unpause conformance",
        singleFile: true,
        groupBy: ["epic", "feature", "story"],
      },
    },
  },
};
