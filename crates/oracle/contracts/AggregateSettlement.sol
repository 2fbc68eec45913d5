// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

interface ILedgerflowOracle {
    function request(
        bytes32 jobId,
        bytes calldata params,
        address callback,
        bytes4 callbackSelector,
        uint64 expiry
    ) external payable returns (bytes32);
}

/// A settlement on a lake aggregate: two parties stake on whether a query result (e.g. the
/// average gas price of a block range, job `sql` with a registered template and its
/// parameters, result `abi.encode(uint256)`) lands above `strike`; `settle()` asks the
/// oracle and the callback pays both stakes to the side that was right (`above` when the
/// value is greater than the strike, `below` otherwise).
contract AggregateSettlement {
    address public immutable oracle;
    bytes32 public immutable jobId;
    bytes public params;
    uint256 public immutable strike;
    address public immutable above;
    address public immutable below;
    uint256 public immutable stake;

    mapping(address => bool) public funded;
    bytes32 public requestId;
    bool public settled;
    uint256 public value;
    address public winner;

    event Funded(address indexed party, uint256 amount);
    event SettlementRequested(bytes32 requestId);
    event Settled(uint256 value, address indexed winner, uint256 paid);

    constructor(
        address oracle_,
        bytes32 jobId_,
        bytes memory params_,
        uint256 strike_,
        address above_,
        address below_,
        uint256 stake_
    ) {
        oracle = oracle_;
        jobId = jobId_;
        params = params_;
        strike = strike_;
        above = above_;
        below = below_;
        stake = stake_;
    }

    function fund() external payable {
        require(msg.sender == above || msg.sender == below, "Settlement: not a party");
        require(!funded[msg.sender], "Settlement: already funded");
        require(msg.value == stake, "Settlement: wrong stake");
        funded[msg.sender] = true;
        emit Funded(msg.sender, msg.value);
    }

    /// Asks the oracle once both have funded; `msg.value` pays the oracle.
    function settle(uint64 expiry) external payable {
        require(funded[above] && funded[below], "Settlement: not funded");
        require(requestId == bytes32(0), "Settlement: already requested");
        requestId = ILedgerflowOracle(oracle).request{value: msg.value}(
            jobId, params, address(this), this.onResult.selector, expiry
        );
        emit SettlementRequested(requestId);
    }

    function onResult(bytes32 id, bytes calldata result) external {
        require(msg.sender == oracle, "Settlement: not the oracle");
        require(id == requestId && !settled, "Settlement: unexpected result");
        settled = true;
        value = abi.decode(result, (uint256));
        winner = value > strike ? above : below;
        uint256 paid = 2 * stake;
        emit Settled(value, winner, paid);
        (bool ok, ) = payable(winner).call{value: paid}("");
        require(ok, "Settlement: payout failed");
    }
}
