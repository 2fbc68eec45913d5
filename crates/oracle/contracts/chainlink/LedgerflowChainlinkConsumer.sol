// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.19;

import {ChainlinkClient} from "@chainlink/contracts/src/v0.8/operatorforwarder/ChainlinkClient.sol";
import {Chainlink} from "@chainlink/contracts/src/v0.8/operatorforwarder/Chainlink.sol";

// A consumer written for Chainlink the way its documentation's examples are (Chainlink's
// `ChainlinkClient`, unchanged, from the npm package @chainlink/contracts): it asks an
// `Operator` for a job, pays in LINK, and takes the answer through
// `recordChainlinkFulfillment`. ledgerflow's worker serves it: the spec id is a ledgerflow
// job id (`keccak256("ledgerflow.job." + name)`), the CBOR parameters name the template,
// the dataset and the template's arguments (`sql`) or the model and the account
// (`score`), and the answer is one uint256.
contract LedgerflowChainlinkConsumer is ChainlinkClient {
    using Chainlink for Chainlink.Request;

    address public immutable operator;
    uint256 public immutable fee;
    uint256 public value;
    bytes32 public lastRequestId;
    uint256 public answers;

    event Answered(bytes32 indexed requestId, uint256 value);

    constructor(address link, address operator_, uint256 fee_) {
        _setChainlinkToken(link);
        operator = operator_;
        fee = fee_;
    }

    /// An `sql` request: a template, a dataset root (0x hex) and the template's integer
    /// arguments by name.
    function requestSql(
        bytes32 specId,
        string calldata template,
        string calldata dataset,
        string[] calldata names,
        int256[] calldata values
    ) external returns (bytes32 requestId) {
        require(names.length == values.length, "Consumer: names and values differ");
        Chainlink.Request memory req = _buildOperatorRequest(specId, this.fulfill.selector);
        req._add("template", template);
        req._add("dataset", dataset);
        for (uint256 i = 0; i < names.length; i++) {
            req._addInt(names[i], values[i]);
        }
        requestId = _sendOperatorRequestTo(operator, req, fee);
        lastRequestId = requestId;
    }

    /// A `score` request: a model hash and an account (0x hex).
    function requestScore(
        bytes32 specId,
        string calldata model,
        string calldata account
    ) external returns (bytes32 requestId) {
        Chainlink.Request memory req = _buildOperatorRequest(specId, this.fulfill.selector);
        req._add("model", model);
        req._add("account", account);
        requestId = _sendOperatorRequestTo(operator, req, fee);
        lastRequestId = requestId;
    }

    function fulfill(bytes32 requestId, uint256 answer) external recordChainlinkFulfillment(requestId) {
        value = answer;
        answers += 1;
        emit Answered(requestId, answer);
    }
}
